"""train and resume: plan → resolve model files → run folder → attempt → manifest → report.

`start_run` makes a new run from a plan; `resume_run` adds an attempt to an existing one. Both record every
attempt in the manifest (`attempts`), append to the same logs, and end with the same classification. The
manifest is a `RunManifest` changed through its methods and written by `save_manifest`, under the run's lock.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.backends import get_backend
from fluxgen.errors import UserError
from fluxgen.runner import Launch, build_launch, make_redactor
from fluxgen.runs.attempt import AttemptResult, FollowOptions, run_attempt
from fluxgen.runs.manifest import (
    RESERVE_BYTES,
    RESERVE_NAME,
    RUN_LOCK,
    RunManifest,
    read_manifest,
    save_manifest,
)

if TYPE_CHECKING:
    from fluxgen.plan import Plan

RECORDED_WARNINGS = ("stall", "slowdown", "resume_mismatch", "record_incomplete", "optimizer_fallback")


@dataclass
class TrainOptions:
    runs_dir: Path = Path("runs")
    download: bool = False  # let `hf://` model files be fetched from the hub (gated ones need HF_TOKEN)
    force: bool = False  # start even with dataset lint errors
    report: bool = True
    follow: FollowOptions = field(default_factory=FollowOptions)
    announce: Callable[[Path, str], None] | None = None  # told the run folder and what starts, before launch


@dataclass
class RunResult:
    run_dir: Path
    attempt: AttemptResult
    manifest: RunManifest
    report: Path | None = None
    report_error: str | None = None

    @property
    def status(self) -> str:
        return self.attempt.summary.status


def prepare(plan: Plan, *, download: bool = False) -> Any:
    """The plan with its `hf://` files resolved to local paths, after the checks that fail before launch."""
    from fluxgen.hub import resolve_plan

    _check_gated(plan)
    return resolve_plan(plan, download=download)


def _check_gated(plan: Plan) -> None:
    """A trainer that loads a hub model itself (ai-toolkit) fails only after minutes: say now that FLUX.1-dev needs
    a token."""
    from fluxgen.hub import cache_dir, repo_url, token_source

    repo = plan.values.get("model_path") or ""
    if (not get_backend(plan.backend).loads_hub_model or plan.values.get("base_model_kind") == "local"
            or "FLUX.1-dev" not in repo):
        return
    cached = (cache_dir() / f"models--{repo.replace('/', '--')}").is_dir()
    if not cached and token_source() is None:
        raise UserError(f"{repo}: gated on the Hugging Face hub and no token is set; accept the licence at "
                        f"{repo_url(repo)} and set HF_TOKEN, or train from a local model (--set model.base=DIR)")


def check_trainer(trainer: Any) -> None:
    """A missing checkout fails here, in one line, rather than as a trainer that cannot start."""
    from fluxgen.checkouts import ENV_NAMES

    if trainer.dir is None or (trainer.entry_path is not None and trainer.entry_path.is_file()):
        return
    var = ENV_NAMES[trainer.backend][0]
    raise UserError(f"{trainer.entry_path}: no {trainer.backend} checkout there ({trainer.dir_source}); fetch it "
                    f"(git submodule update --init {trainer.dir}) or set {var} to a checkout; `fluxgen doctor` "
                    "checks the setup")


def dry_run(plan: Plan, runs_dir: Path, force: bool = False) -> dict[str, Any]:
    """What `train` would do, without creating anything: the command, the run folder's name, unresolved files.
    The same gates as a real run (dataset errors, a run folder inside an image folder), so it promises no run
    that would be refused."""
    from fluxgen.checkouts import locate
    from fluxgen.hub import cached_path, hub_refs
    from fluxgen.render import check_dataset_errors
    from fluxgen.rules.datasets import refuse_inside_any

    check_dataset_errors(plan, force)
    refuse_inside_any(plan.values, runs_dir, "--runs")

    trainer = locate(plan.backend)
    where = Path(runs_dir) / f"{plan.values['name']}-<timestamp>"
    launch = build_launch(plan, where, trainer)
    missing = {k: ref for k, ref in hub_refs(plan.values).items() if cached_path(ref) is None}
    return {"launch": launch, "run_dir": where, "trainer": trainer, "unresolved": missing}


def start_run(plan: Plan, options: TrainOptions, *, given: Any = None) -> RunResult:
    """Plan → new run folder → first attempt. The plan must already be prepared (model files resolved);
    `given` (a GivenIntent) is the intent as the user gave it, for intent.yaml and the manifest."""
    from fluxgen.checkouts import locate
    from fluxgen.rules.datasets import refuse_inside_any
    from fluxgen.runs.facts import initial_manifest
    from fluxgen.runs.folder import new_run_dir, write_run_files

    refuse_inside_any(plan.values, options.runs_dir, "--runs")
    trainer = locate(plan.backend)
    check_trainer(trainer)
    run_dir = new_run_dir(options.runs_dir, plan.values["name"])
    launch = build_launch(plan, run_dir.resolve(), trainer)
    try:
        files = write_run_files(run_dir, plan, launch, given=given, force=options.force)
    except BaseException:
        _discard(run_dir)
        raise
    manifest = initial_manifest(plan, trainer, run_dir, files, given.record() if given is not None else None)
    with run_lock(run_dir):
        save_manifest(run_dir, manifest)
        return _run(run_dir, plan, launch, trainer, manifest, options, what="train")


def run_lock(run_dir: Path) -> Any:
    """One fluxgen at a time on a run: a second `resume` (or a `resume` during `train`) is refused at once."""
    from fluxgen.locks import hold

    return hold(Path(run_dir) / RUN_LOCK, f"{run_dir} (a run)")


def left_trainer_group(manifest: RunManifest) -> int | None:
    """The process group of the last attempt's trainer when the record says it never ended."""
    last = manifest.last_attempt
    if last is None or last.ended:
        return None
    pgid = last.pgid if "pgid" in last.model_fields_set else last.pid
    return pgid if isinstance(pgid, int) and pgid > 1 else None


def check_no_trainer_left(run_dir: Path, manifest: RunManifest) -> None:
    """A fluxgen killed with SIGKILL cannot end its trainer: while that trainer's group lives, starting another
    on the same folder would have two trainers writing one output."""
    from fluxgen.runner import group_alive

    pgid = left_trainer_group(manifest)
    if pgid is not None and group_alive(pgid):
        last = manifest.attempts[-1]
        raise UserError(f"{run_dir}: the trainer of attempt {last.attempt or '?'} is still running (process "
                        f"group {pgid}) though fluxgen no longer follows it; end it with `kill -TERM -- -{pgid}` "
                        "(or wait for it), then resume")


def _discard(run_dir: Path) -> None:
    """A run folder whose files could not be written holds nothing worth keeping."""
    for child in sorted(run_dir.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    run_dir.rmdir()


def resume_run(run_dir: Path, options: TrainOptions) -> RunResult:
    """A new attempt in the same run, from the newest valid checkpoint or saved state."""
    run_dir = Path(run_dir)
    with run_lock(run_dir):
        manifest = read_manifest(run_dir)
        check_no_trainer_left(run_dir, manifest)
        return _resume_locked(run_dir, manifest, options)


def _resume_locked(run_dir: Path, manifest: RunManifest, options: TrainOptions) -> RunResult:
    from fluxgen.checkouts import locate
    from fluxgen.runs.checkpoints import resume_point
    from fluxgen.runs.folder import load_plan
    from fluxgen.runs.manifest import effective_status

    status = effective_status(manifest)
    if status == "running":
        raise UserError(f"{run_dir}: still running (fluxgen pid {manifest.pid}); stop it before resuming")
    if status == "completed":
        raise UserError(f"{run_dir}: already completed; use `fluxgen reproduce {run_dir}` to train it again")
    plan = load_plan(run_dir)
    point = resume_point(plan, run_dir, bad_from=diverged_at(run_dir, manifest))
    get_backend(plan.backend).check_resumable(point, run_dir)
    trainer = locate(plan.backend)
    check_trainer(trainer)
    launch = build_launch(plan, run_dir.resolve(), trainer, point.extra_args)
    what = f"resume from step {point.step}" if point.step is not None else "resume with no checkpoint (from step 0)"
    return _run(run_dir, plan, launch, trainer, manifest, options, what=what, resume=point.to_dict(run_dir),
                expect=point.step)


def diverged_at(run_dir: Path, manifest: RunManifest) -> int | None:
    """The step the loss became NaN at in the last attempt, when that is how the run ended."""
    from fluxgen.runs.record import read_events

    if (manifest.diagnosis or {}).get("code") != "nan_loss":
        return None
    last = len(manifest.attempts)
    steps = [row["step"] for row in read_events(run_dir) if row.get("code") == "nan_loss"
             and row.get("attempt") == last and isinstance(row.get("step"), int)]
    return min(steps) if steps else None


def _run(run_dir: Path, plan: Plan, launch: Launch, trainer: Any, manifest: RunManifest, options: TrainOptions,
         *, what: str, resume: dict[str, Any] | None = None, expect: int | None = None) -> RunResult:
    from fluxgen.checkouts import checkout_commit

    previous = manifest.diagnosis if manifest.attempts else None
    attempt = manifest.begin_attempt(what, launch.argv, checkout_commit(trainer.dir), resume)
    save_manifest(run_dir, manifest)
    _reserve(run_dir)
    if options.announce is not None:
        options.announce(run_dir, what)

    def started(pid: int) -> None:
        manifest.trainer_started(pid)
        save_manifest(run_dir, manifest)

    try:
        result = run_attempt(run_dir, plan, launch, attempt.attempt, what=what, options=options.follow,
                             t0=manifest.t0, on_start=started, expect_resume=expect, previous=previous)
    except BaseException as exc:
        _abandon(run_dir, manifest, exc, make_redactor(launch.environ()))
        raise
    _finish(run_dir, plan, manifest, result)
    report, report_error = _report(run_dir) if options.report else (None, None)
    if report_error:
        report_error = make_redactor(launch.environ())(report_error)
    return RunResult(run_dir, result, manifest, report, report_error)


def _finish(run_dir: Path, plan: Plan, manifest: RunManifest, result: AttemptResult) -> None:
    from fluxgen.runs.facts import outputs_record

    number = manifest.attempts[-1].attempt
    warnings = [{"attempt": number, "code": e.code, "step": e.step, "message": e.message}
                for e in result.events if e.type == "warning" and e.code in RECORDED_WARNINGS]
    manifest.end_attempt(result.summary, result.ended, outputs_record(plan, result.outputs, run_dir), warnings,
                         plan.values.get("steps"))
    save_manifest(run_dir, manifest, final=True)


def _reserve(run_dir: Path) -> None:
    try:
        with open(run_dir / RESERVE_NAME, "wb") as fh:
            os.posix_fallocate(fh.fileno(), 0, RESERVE_BYTES)
    except (OSError, AttributeError):
        pass  # no room even for that: the end is recorded if anything can be


def _abandon(run_dir: Path, manifest: RunManifest, exc: BaseException, redact: Callable[[str], str]) -> None:
    """fluxgen itself failed mid-attempt (the trainer's group is already ended): say so in the record."""
    what = redact(type(exc).__name__ + (f": {exc}" if str(exc) else ""))
    manifest.abandon({"code": "crash", "message": f"fluxgen stopped following the run ({what}).",
                      "fix": f"Continue it with `fluxgen resume {run_dir}`."})
    save_manifest(run_dir, manifest, final=True)


def _report(run_dir: Path) -> tuple[Path | None, str | None]:
    """The HTML report, if that part of fluxgen is installed; a failure to write it never changes the run."""
    try:
        from fluxgen.report import write_report

        html, _png = write_report(run_dir)
        return html, None
    except Exception as exc:  # noqa: BLE001 - the run's result stands whatever the report does
        return None, f"{type(exc).__name__}: {exc}"
