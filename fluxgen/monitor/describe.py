"""A short human report of a parsed log: the summary first, then the events with progress compressed."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from fluxgen.events import Event, Summary

MAX_MESSAGE = 200


def describe(
    events: Sequence[Event], summary: Summary, *, origin: Callable[[Event], str] | None = None
) -> str:
    """The report as text. `origin` names where an event came from (file and line) when there are several."""
    lines = [f"status: {summary.status}"]
    if summary.last_step is not None or summary.total is not None:
        steps = f"steps: {_num(summary.last_step)}/{_num(summary.total)}"
        if summary.resumed_from is not None:
            steps += f" (resumed from step {summary.resumed_from})"
        lines.append(steps)
    if summary.last_loss is not None:
        lines.append(f"last loss: {summary.last_loss:.4g}")
    if summary.checkpoints:
        lines.append("checkpoints:")
        lines += [f"  step {_num(c['step']):>6}  {c['path']}" for c in summary.checkpoints]
    if summary.diagnosis is not None:
        lines.append(f"diagnosis ({summary.diagnosis.code}): {summary.diagnosis.message}")
        lines.append(f"  fix: {summary.diagnosis.fix}")
    if events:
        lines.append("events:")
        lines += ["  " + text for text in event_lines(events, origin or _line_of)]
    return "\n".join(lines) + "\n"


def event_lines(events: Sequence[Event], origin: Callable[[Event], str]) -> list[str]:
    """One line per event, except that a run of progress events becomes one line."""
    rows: list[tuple[str, str]] = []
    run: list[Event] = []
    for event in [*events, None]:
        if event is not None and event.type == "progress":
            run.append(event)
            continue
        if run:
            rows.append((origin(run[0]), _progress(run)))
            run = []
        if event is not None:
            rows.append((origin(event), _one(event)))
    width = max((len(where) for where, _ in rows), default=0)
    return [f"{where:<{width}}  {text}" for where, text in rows]


def _progress(run: list[Event]) -> str:
    first, last = run[0], run[-1]
    shown = len({e.step for e in run})
    if first.step == last.step:
        text = f"progress  step {_num(last.step)}"
    else:
        text = f"progress  steps {_num(first.step)}–{_num(last.step)}"
    if last.total is not None:
        text += f" of {last.total}"
    if shown > 1:
        text += f" ({shown} shown)"
    losses = [e.loss for e in run if e.loss is not None]
    if len(losses) > 1:
        text += f", loss {losses[0]:.4g} → {losses[-1]:.4g}"
    elif losses:
        text += f", loss {losses[0]:.4g}"
    speeds = [e.seconds_per_it for e in run if e.seconds_per_it]
    if speeds:
        text += f", {speeds[-1]:.3g} s/it"
    if any(e.loss is not None and not math.isfinite(e.loss) for e in run):
        text += " (non-finite loss)"
    return text


def _one(e: Event) -> str:
    step = f" step {e.step}" if e.step is not None else ""
    if e.type == "phase":
        return f"phase     {e.phase}{step}"
    if e.type == "checkpoint":
        return f"checkpoint{step}: {e.path}" + (" (final)" if e.final else "")
    if e.type == "sample":
        return f"sample   {step}" + (f": {e.path}" if e.path else "")
    if e.type == "resume":
        return f"resume    from{step}" + (f" ({e.path})" if e.path else "")
    kind = f"{e.type} [{e.code}]" if e.code else e.type
    return f"{kind}: {_short(e.message or '')}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _num(value: int | None) -> str:
    return "?" if value is None else str(value)


def _line_of(e: Event) -> str:
    return f"line {e.line}" if e.line is not None else ""
