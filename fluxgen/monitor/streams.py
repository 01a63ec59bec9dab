"""Events of one run captured as several streams (stdout and stderr in separate files), put in one order.

Piped stdout is block-buffered, so the real interleaving is lost; the training step is the shared clock.
Every event is placed at the step it happened at (events without a step stay after the previous one of their
stream), start-up events follow the phase order, and an error or interruption that ended a stream goes last.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from fluxgen.errors import UserError
from fluxgen.events import Event

PHASE_ORDER = {"loading": 0, "caching": 1, "sampling": 2, "training": 3, "saving": 4}
_STEP_CLOCK = ("progress", "checkpoint", "sample")
_STEP_PHASES = ("saving", "sampling")


def _is_ending(event: Event) -> bool:
    if event.type == "error":
        return event.code != "nan_loss"
    return event.code == "interrupted"


def _within_step(event: Event) -> int:
    """Order at one step: the step itself, its save, its samples, anything else, then training resumes."""
    if event.type == "progress":
        return 0
    if event.type == "checkpoint" or event.phase == "saving" and event.type == "phase":
        return 1
    if event.type == "sample" or event.phase == "sampling" and event.type == "phase":
        return 2
    return 4 if event.type == "phase" else 3


def merge(streams: Sequence[Sequence[Event]]) -> list[Event]:
    """One ordered event list from the event lists of a run's streams (first stream first on ties)."""
    if len(streams) == 1:
        return list(streams[0])
    keyed = []
    for index, events in enumerate(streams):
        anchor: float = -1
        rank = 0
        # An error after its stream's last step, save or sample ended the run: it goes last.
        last_clock = max((i for i, e in enumerate(events) if e.type in _STEP_CLOCK), default=-1)
        for seq, event in enumerate(events):
            if event.step is not None and (
                event.type in _STEP_CLOCK or event.type == "phase" and event.phase in _STEP_PHASES
            ):
                anchor = max(anchor, event.step)
            elif event.type == "phase" and anchor < 0:
                rank = max(rank, PHASE_ORDER.get(event.phase or "", 0))
            at = math.inf if seq > last_clock and _is_ending(event) else anchor
            keyed.append(((at, rank if at < 0 else _within_step(event), index, seq), event))
    keyed.sort(key=lambda item: item[0])
    return dedupe_phases([event for _, event in keyed])


def dedupe_phases(events: Sequence[Event]) -> list[Event]:
    """Drop phase events that repeat the phase already in force (the same phase seen from two streams)."""
    out: list[Event] = []
    current: Event | None = None
    for event in events:
        if event.type == "phase":
            if (
                current
                and event.phase == current.phase
                and (event.step is None or event.step == current.step)
            ):
                current.total = current.total if current.total is not None else event.total
                continue
            current = event
        out.append(event)
    return out


def read_log(path: Path) -> str:
    """A saved console log as text, keeping its carriage returns; one clear line if it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            return f.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UserError(f"{path}: cannot read the log file ({reason})") from None


def parse_files(backend: str, paths: Sequence[Path]) -> tuple[list[Event], dict[int, str]]:
    """Events of a run's saved streams in one order, and for each event (by id) the file it came from."""
    from fluxgen.monitor import parse_text

    texts = [read_log(path) for path in paths]  # read all first: an unreadable file fails before any parsing
    per_stream, origin = [], {}
    for path, text in zip(paths, texts, strict=True):
        events = parse_text(backend, text)
        origin.update((id(event), Path(path).name) for event in events)
        per_stream.append(events)
    return merge(per_stream), origin
