"""Parser of the builtin trainer's console (`python -m fluxgen.trainer`): lines in, events out.

The format is fluxgen's own (see `fluxgen/trainer/console.py` and docs/builtin-trainer.md), one fact per line:
`loading model: …`, `caching latents: …`, `caching text embeddings: …`, `training: …`, `sampling: …`,
`step N/T loss=… lr=… s/it=…`, `saved checkpoint step N: PATH`, `saved sample step N: PATH`,
`resumed from step N: PATH`, `warning: …`, `interrupted at step N/T by SIGINT`, `done: PATH`, and on stderr
`error: …`. Anything else (library warnings, a traceback's frames) is skipped, except a traceback's last line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fluxgen.events import Event

PHASES = {
    "loading model": "loading",
    "caching latents": "caching",
    "caching text embeddings": "caching",
    "training": "training",
    "sampling": "sampling",
}
_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf)"
STEP = re.compile(rf"^step (\d+)/(\d+) loss=({_NUMBER}) lr=({_NUMBER}) s/it=({_NUMBER})$")
PHASE = re.compile(r"^(loading model|caching latents|caching text embeddings|training|sampling): (.*)$")
CHECKPOINT = re.compile(r"^saved checkpoint step (\d+): (.+)$")
SAMPLE = re.compile(r"^saved sample step (\d+): (.+)$")
RESUMED = re.compile(r"^resumed from step (\d+): (.+)$")
INTERRUPTED = re.compile(r"^interrupted at step (\d+)/(\d+) by (SIG[A-Z]+)$")
DONE = re.compile(r"^done: (.+)$")
WARNING = re.compile(r"^warning: (.*)$")
ERROR = re.compile(r"^error: (.*)$")
EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?([A-Za-z_]\w*(?:Error|Exception)): (.*)$")

# (pattern in an error message, code) for the errors a user can act on.
ERROR_CODES = (
    (re.compile(r"out of memory|OutOfMemoryError", re.I), "out_of_memory"),
    (re.compile(r"loss is (nan|inf|-inf)\b", re.I), "nan_loss"),
    (re.compile(r"no images found"), "no_data"),
    (re.compile(r"dataset folder not found|caption is not UTF-8|cannot read this image"), "dataset_error"),
    (re.compile(r"gated|restricted|401 Client Error|403 Client Error", re.I), "gated_model"),
    (re.compile(r"not found|no such file", re.I), "missing_file"),
    (re.compile(r"needs bitsandbytes|unknown key|train\.yaml: |: must be |is not one of"), "bad_config"),
)


def _error_code(message: str, default: str | None = None) -> str | None:
    for pattern, code in ERROR_CODES:
        if pattern.search(message):
            return code
    return default


def parse(lines: Iterable[str]) -> list[Event]:
    """Events in the order the trainer printed them, each with its 1-based line number."""
    events: list[Event] = []
    last_step: int | None = None
    in_traceback = False
    for number, raw in enumerate(lines, start=1):
        text = raw.rstrip("\r\n").strip()
        if not text:
            continue
        if text.startswith("Traceback (most recent call last)"):
            in_traceback = True
            continue
        event = _parse_line(text, last_step, in_traceback)
        if event is None:
            continue
        in_traceback = False
        event.line = number
        if event.step is not None and event.type in ("progress", "resume"):
            last_step = event.step
        events.append(event)
    return events


def _parse_line(text: str, last_step: int | None, in_traceback: bool) -> Event | None:
    if match := STEP.match(text):
        step, total, loss, lr, speed = match.groups()
        return Event(
            type="progress", step=int(step), total=int(total), loss=float(loss), lr=float(lr),
            seconds_per_it=float(speed), phase="training",
        )  # fmt: skip
    if match := CHECKPOINT.match(text):
        return Event(type="checkpoint", step=int(match.group(1)), path=match.group(2), phase="saving")
    if match := SAMPLE.match(text):
        return Event(type="sample", step=int(match.group(1)), path=match.group(2), phase="sampling")
    if match := RESUMED.match(text):
        return Event(type="resume", step=int(match.group(1)), path=match.group(2))
    if match := PHASE.match(text):
        return Event(type="phase", phase=PHASES[match.group(1)], message=text)
    if match := INTERRUPTED.match(text):
        return Event(
            type="error", code="interrupted", step=int(match.group(1)), total=int(match.group(2)), message=text
        )
    if match := DONE.match(text):
        return Event(type="checkpoint", path=match.group(1), step=last_step, final=True, phase="saving")
    if match := WARNING.match(text):
        return Event(type="warning", message=match.group(1))
    if match := ERROR.match(text):
        message = match.group(1)
        return Event(type="error", message=message, code=_error_code(message))
    if in_traceback and (match := EXCEPTION.match(text)):
        return Event(type="error", message=text, code=_error_code(text, "crash"))
    return None
