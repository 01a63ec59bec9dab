"""Read kohya sd-scripts' console (flux_train_network.py under `accelerate launch`).

Log records go to stderr through rich (wrapped to the terminal width) or, with `--console_log_simple`, to
stdout as bare messages; prints go to stdout; the `steps` bar to stderr. Formats: reference sd-scripts.md
§4-5.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import PurePath

from fluxgen.events import Event
from fluxgen.monitor import richlog
from fluxgen.monitor.common import ConsoleParser, any_of
from fluxgen.monitor.tqdm import parse_bar

NAME = "sd-scripts"
TRAIN_BAR = "steps"
_STEP_FILE_RE = re.compile(r"-step(\d{8})$")
_EPOCH_FILE_RE = re.compile(r"-(\d{6})$")
_LOADING_RE = re.compile(
    r"^(?:Checking the state dict|Loading dataset config from|load tokenizer|prepare images"
    r"|Building Flux model|Loading state dict from|Building (?:CLIP-L|AutoEncoder))"
)
_CACHING_RE = re.compile(r"^(?:caching latents|caching Text Encoder outputs)", re.I)
_COUNTS = (
    ("total", re.compile(r"^\s*total optimization steps[^:=]*[:=]\s*(\d+)")),
    ("batches", re.compile(r"^\s*num batches per epoch[^:=]*[:=]\s*(\d+)")),
    ("accumulation", re.compile(r"^\s*gradient accumulation steps[^:=]*[:=]\s*(\d+)")),
    ("epochs", re.compile(r"^\s*num epochs[^:=]*[:=]\s*(\d+)")),
)
_MESSAGE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("epoch", re.compile(r"^epoch (\d+)/(\d+)$")),
    ("sample", re.compile(r"^generating sample images at step[^:]*:\s*(\d+)")),
    ("checkpoint", re.compile(r"^saving checkpoint: (.+?)\s*$")),
    ("state_step", re.compile(r"^saving state at step (\d+)")),
    ("state_epoch", re.compile(r"^saving state at epoch (\d+)")),
    ("state_last", re.compile(r"^saving last state")),
    ("resume_dir", re.compile(r"^resume training from local state: (.+?)\s*$")),
    (
        "resume_step",
        re.compile(r"^load train state from (.+?)(?:/train_state\.json)?: .*'current_step': (\d+)"),
    ),
    ("no_data", re.compile(r"^No data found")),
    ("argparse", re.compile(r"^[\w.\-/\\]+\.py: error: (.+)$")),
    ("empty_subset", re.compile(r"^ignore subset with image_dir=.*no images found")),
)

_ANY_RULE = any_of(p for _, p in (*_COUNTS, *_MESSAGE_RULES))


class Parser(ConsoleParser):
    """sd-scripts' console as events; one instance per stream (stdout, stderr, or both merged)."""

    BACKEND = "sd-scripts"
    TRAIN_LOSS_SAME_STEP = True  # the bar is updated first, then `avr_loss` for that step is set

    def __init__(self) -> None:
        super().__init__()
        self._record: richlog.Record | None = None
        self._resume_dir: str | None = None
        self.epoch: int | None = None
        self.batches: int | None = None
        self.accumulation = 1
        self.epochs: int | None = None

    def handle(self, lineno: int, text: str) -> None:
        if self._record is not None and richlog.is_continuation(text):
            richlog.extend(self._record, text)
            return
        self.flush()
        record = richlog.start_record(lineno, text)
        if record is not None:
            self._record = record
            return
        bar = parse_bar(text) if "%|" in text else None
        if bar is not None:
            if bar.desc == TRAIN_BAR:
                self.training_bar(lineno, bar)
            return
        self._message(lineno, None, text.strip())

    def flush(self) -> None:
        record, self._record = self._record, None
        if record is not None:
            self._message(record.lineno, record.level, record.message)

    @property
    def steps_per_epoch(self) -> int | None:
        return math.ceil(self.batches / self.accumulation) if self.batches else None

    # -- messages ----------------------------------------------------------------------------------------
    def _message(self, lineno: int, level: str | None, message: str) -> None:
        if not message:
            return
        if _LOADING_RE.match(message):
            self.set_phase("loading", lineno)
        elif _CACHING_RE.match(message):
            self.set_phase("caching", lineno)
        elif not (_ANY_RULE.match(message) and (self._counts(message) or self._rules(lineno, message))):
            if level in ("ERROR", "CRITICAL"):
                self.error(lineno, message)
            elif level == "WARNING":
                self.warning(lineno, message)
            else:
                self.scan(lineno, message)

    def _counts(self, message: str) -> bool:
        for name, pattern in _COUNTS:
            m = pattern.match(message)
            if m:
                setattr(self, name, int(m[1]))
                return True
        return False

    def _rules(self, lineno: int, message: str) -> bool:
        for kind, pattern in _MESSAGE_RULES:
            m = pattern.match(message)
            if m:
                getattr(self, f"_on_{kind}")(lineno, m)
                return True
        return False

    def _on_epoch(self, lineno: int, m: re.Match[str]) -> None:
        self.epoch, self.epochs = int(m[1]), int(m[2])

    def _on_sample(self, lineno: int, m: re.Match[str]) -> None:
        step = int(m[1])
        self.set_phase("sampling", lineno, step)
        self.emit("sample", lineno, step=step)

    def _on_checkpoint(self, lineno: int, m: re.Match[str]) -> None:
        path = m[1]
        stem = PurePath(path).stem
        by_step, by_epoch = _STEP_FILE_RE.search(stem), _EPOCH_FILE_RE.search(stem)
        if by_step:
            step = int(by_step[1])
        elif by_epoch:
            step = self._epoch_end(int(by_epoch[1]))
        else:
            step = self.total if self.total is not None else self.step
        self.set_phase("saving", lineno, step)
        final = not (by_step or by_epoch)
        self.emit("checkpoint", lineno, path=path, step=step, total=self.total, final=final or None)

    def _on_state_step(self, lineno: int, m: re.Match[str]) -> None:
        self.set_phase("saving", lineno, int(m[1]))

    def _on_state_epoch(self, lineno: int, m: re.Match[str]) -> None:
        self.set_phase("saving", lineno, self._epoch_end(int(m[1])))

    def _on_state_last(self, lineno: int, m: re.Match[str]) -> None:
        self.set_phase("saving", lineno, self.total if self.total is not None else self.step)

    def _on_resume_dir(self, lineno: int, m: re.Match[str]) -> None:
        self._resume_dir = m[1]

    def _on_resume_step(self, lineno: int, m: re.Match[str]) -> None:
        self.emit("resume", lineno, step=int(m[2]), path=self._resume_dir or m[1])

    def _on_no_data(self, lineno: int, m: re.Match[str]) -> None:
        self.error(lineno, m.string, "no_data")

    def _on_argparse(self, lineno: int, m: re.Match[str]) -> None:
        self.error(lineno, m.string, "bad_argument")

    def _on_empty_subset(self, lineno: int, m: re.Match[str]) -> None:
        self.warning(lineno, m.string)

    def _epoch_end(self, epoch: int) -> int | None:
        per_epoch = self.steps_per_epoch
        if per_epoch is None:
            return self.step
        step = epoch * per_epoch
        return min(step, self.total) if self.total else step


def parse(lines: Iterable[str]) -> list[Event]:
    """All events of one sd-scripts console stream."""
    return Parser().parse(lines)
