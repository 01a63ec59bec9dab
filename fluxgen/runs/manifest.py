"""`manifest.json`: what ran (versions, trainer commit, GPU, dataset, file hashes) and how it ended, as one type.

`RunManifest` is the record; the session changes it only through its methods, and `save_manifest` is the one
place that writes it (atomically, while the run's lock is held). Readers get it from `read_manifest`, which
parses the JSON that every fluxgen version wrote: keys a record leaves out stay out when it is written again, so
the file keeps the shape it had. Written when the run starts (status `running`, with fluxgen's pid so `status`
can tell a dead run from a live one) and again when the trainer starts and when each attempt ends.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from fluxgen.errors import UserError

if TYPE_CHECKING:
    from fluxgen.events import Summary
    from fluxgen.runner import Ended

MANIFEST = "manifest.json"
RUN_LOCK = ".fluxgen-lock"
# Kept free in the run folder while the trainer runs, so its end can be recorded even when the disk fills up.
RESERVE_NAME, RESERVE_BYTES = ".fluxgen-reserve", 1 << 20
_DAMAGED = ("the run record is damaged (restore it from a backup, or start again with `fluxgen reproduce` on the "
            "run's config file)")
# strict: a value of another type is damage, not something to coerce ("60" is not a step); null is always allowed
# (an older or partial record); extra: keys a newer or older fluxgen wrote survive a rewrite.
_CONFIG = ConfigDict(strict=True, extra="allow")


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


class Attempt(BaseModel):
    """One launch of the trainer in a run (the first, or a resume)."""

    model_config = _CONFIG
    attempt: int | None = None
    what: str | None = None  # "train", "resume from step 60", …
    started: str | None = None
    argv: list[str] | None = None
    trainer_commit: str | None = None
    resume: dict[str, Any] | None = None  # the resume point, for a resume
    pid: int | None = None
    pgid: int | None = None  # the trainer's process group: resume and `status` check it is gone
    ended: str | None = None
    exit_code: int | None = None
    status: str | None = None
    diagnosis: dict[str, Any] | None = None
    stop_reason: str | None = None
    killed: bool | None = None
    resumed_from: int | None = None
    last_step: int | None = None
    seconds: int | float | None = None


class RunManifest(BaseModel):
    """The run's record. Fields are in the order fluxgen has always written them."""

    model_config = _CONFIG
    fluxgen_version: str | None = None
    name: str | None = None
    backend: str | None = None
    plan_hash: str | None = None
    trainer: dict[str, Any] | None = None  # path, pin and the checkout's commit
    python: str | None = None
    python_executable: str | None = None
    packages: dict[str, Any] | None = None
    env_lock: dict[str, Any] | None = None
    gpu: list[Any] | None = None
    host: dict[str, Any] | None = None
    dataset: dict[str, Any] | None = None  # path, fingerprint, images, captions, masks
    files: dict[str, Any] | None = None  # rendered file name -> sha256
    steps: int | None = None
    started: str | None = None
    ended: str | None = None
    exit_code: int | None = None
    status: str | None = None
    diagnosis: dict[str, Any] | None = None  # code, message, fix
    warnings: list[dict[str, Any]] = []
    checkpoints: list[dict[str, Any]] = []  # step, path, sha256
    final_lora: str | None = None
    final_lora_sha256: str | None = None
    samples: list[dict[str, Any]] = []  # step, index, path, prompt
    attempts: list[Attempt] = []
    pid: int | None = None  # fluxgen's own, while it follows the run
    intent: dict[str, Any] | None = None  # the intent as the user gave it
    t0: int | float | None = None  # time.time() at the start: events carry seconds since then
    last_step: int | None = None
    total: int | None = None
    last_loss: int | float | None = None

    @field_validator("warnings", "checkpoints", "samples", "attempts", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def last_attempt(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    def to_json(self) -> str:
        """The record as written: only the keys it was given or set, in fluxgen's order, then unknown ones."""
        return json.dumps(self.model_dump(mode="json", exclude_unset=True), indent=2, ensure_ascii=False) + "\n"

    def begin_attempt(self, what: str, argv: list[str], trainer_commit: str | None,
                      resume: dict[str, Any] | None = None) -> Attempt:
        """A new attempt, and the run `running` again under this fluxgen."""
        attempt = Attempt(attempt=len(self.attempts) + 1, what=what, started=now_iso(), argv=list(argv),
                          trainer_commit=trainer_commit)
        if resume is not None:
            attempt.resume = resume
        self.attempts = [*self.attempts, attempt]
        self.status, self.pid, self.ended, self.exit_code, self.diagnosis = "running", os.getpid(), None, None, None
        return attempt

    def trainer_started(self, pid: int) -> None:
        attempt = self.attempts[-1]
        attempt.pid = attempt.pgid = pid

    def end_attempt(self, summary: Summary, ended: Ended, outputs: dict[str, Any], warnings: list[dict[str, Any]],
                    planned_steps: int | None) -> None:
        """How the attempt ended (the trainer's `Ended`, the follower's `Summary`) and what the run has now."""
        attempt = self.attempts[-1]
        diagnosis = summary.diagnosis.to_dict() if summary.diagnosis else None
        attempt.ended, attempt.exit_code, attempt.status, attempt.diagnosis = now_iso(), ended.exit_code, \
            summary.status, diagnosis
        attempt.stop_reason, attempt.killed, attempt.resumed_from = ended.stop_reason, ended.killed, \
            summary.resumed_from
        attempt.last_step, attempt.seconds = summary.last_step, round(ended.ended - ended.started, 3)
        self.checkpoints, self.final_lora = outputs["checkpoints"], outputs["final_lora"]
        self.final_lora_sha256, self.samples = outputs["final_lora_sha256"], outputs["samples"]
        self.ended, self.exit_code, self.status, self.diagnosis = attempt.ended, ended.exit_code, summary.status, \
            diagnosis
        self.last_step = summary.last_step if summary.last_step is not None else self.last_step
        self.total = summary.total or self.total or planned_steps
        self.last_loss = summary.last_loss if summary.last_loss is not None else self.last_loss
        self.warnings = [*self.warnings, *warnings]
        self._forget_pid()

    def abandon(self, diagnosis: dict[str, Any]) -> None:
        """fluxgen itself stopped following the attempt: it failed, for the reason given."""
        attempt = self.attempts[-1]
        attempt.ended, attempt.status, attempt.diagnosis = now_iso(), "failed", diagnosis
        self.ended, self.status, self.diagnosis = attempt.ended, "failed", diagnosis
        self._forget_pid()

    def _forget_pid(self) -> None:
        """No fluxgen follows the run any more: the key goes, as it always has (not a null)."""
        self.pid = None
        self.__pydantic_fields_set__.discard("pid")


def parse_manifest(data: Any, source: Path | str) -> RunManifest:
    """The record from the JSON fluxgen wrote, or one line naming the first key that is not as written."""
    try:
        return RunManifest.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{source}: {_first_problem(exc, data)}; {_DAMAGED}") from None


_EXPECTED = {"string_type": "str", "int_type": "int", "number_type": "int or float", "bool_type": "bool",
             "dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object",
             "list_type": "a list"}


def _first_problem(exc: ValidationError, data: Any) -> str:
    """`key: expected …, found …` (`attempts[0]: …` inside a list) for the first error, as fluxgen has always said."""
    from fluxgen.pydantic_errors import ErrorStyle, format_error, indexed_path

    err = dict(exc.errors()[0])
    loc = tuple(err["loc"])
    if loc and loc[-1] in ("int", "float"):  # a number field tried as int, then as float: one message
        loc, err["type"] = loc[:-1], "number_type"
    if not loc:
        return f"a JSON {type(data).__name__} instead of an object"
    style = ErrorStyle(RunManifest, path=indexed_path, own=lambda e, _loc: (
        f"expected {_EXPECTED.get(e['type'], e['msg'])}, found {type(e['input']).__name__}"))
    return format_error({**err, "loc": loc}, style)


def read_manifest(run_dir: Path) -> RunManifest:
    """The run's manifest (an empty record when there is none), or one line naming what is damaged in it: a
    command never acts on (or rewrites) a record it cannot read as fluxgen wrote it."""
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        return RunManifest()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); the run record is damaged") from None
    return parse_manifest(data, path)


def save_manifest(run_dir: Path, manifest: RunManifest, *, final: bool = False) -> None:
    """The one writer of manifest.json, only while the run's lock is held. `final` ends an attempt: on a full disk
    the reserve kept for it is given up to make room, and it is removed afterwards."""
    from fluxgen.fsio import atomic_write
    from fluxgen.locks import is_held

    run_dir = Path(run_dir)
    if not is_held(run_dir / RUN_LOCK):
        raise RuntimeError(f"{run_dir}: the manifest is written only while the run's lock is held")
    text, path = manifest.to_json(), run_dir / MANIFEST
    try:
        atomic_write(path, text, force=True)
    except UserError:
        if not final:
            raise
        (run_dir / RESERVE_NAME).unlink(missing_ok=True)
        atomic_write(path, text, force=True)
    if final:
        (run_dir / RESERVE_NAME).unlink(missing_ok=True)


def pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def effective_status(manifest: RunManifest) -> str:
    """The manifest's status, except that a `running` run whose fluxgen process is gone is `stale`."""
    status = manifest.status or "unknown"
    if status == "running" and (manifest.host or {}).get("name") in (None, socket.gethostname()):
        if not pid_alive(manifest.pid):
            return "stale"
    return status
