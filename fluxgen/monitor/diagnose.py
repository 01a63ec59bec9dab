"""How a run ended and why: events (+ exit code, final file) → Summary with a status and a Diagnosis.

The fixes themselves live in `fluxgen.monitor.advice`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from fluxgen.events import Diagnosis, Event, Summary
from fluxgen.monitor.advice import FIXES, RunContext, fix_for, from_error, out_of_memory, refine, was_killed
from fluxgen.monitor.diagnoses import priority

__all__ = ["FIXES", "RunContext", "fix_for", "from_error", "summarize"]

INTERRUPT_EXIT_CODES = frozenset({130, 143, -2, -15})
KILLED_EXIT_CODES = frozenset({137, -9})


@dataclass
class _Facts:
    last_step: int | None = None
    total: int | None = None
    checkpoints: dict[str, int | None] = field(default_factory=dict)
    resumed_from: int | None = None
    last_loss: float | None = None
    errors: list[Event] = field(default_factory=list)  # errors training did not go on after (and any NaN)
    survived: list[Event] = field(default_factory=list)  # errors followed by more training: not the end
    interrupted: Event | None = None
    final_saved: bool = False
    trained: bool = False
    watch: Event | None = None  # the latest stall/slowdown warning from the live follower


def _facts(events: Iterable[Event]) -> _Facts:
    f = _Facts()
    for e in events:
        if e.total is not None:
            f.total = e.total
        if e.code == "interrupted":
            f.interrupted = e
        elif e.type == "progress":
            f.trained, f.last_step = True, e.step
            if e.loss is not None and math.isfinite(e.loss):
                f.last_loss = e.loss
            _went_on(f)
        elif e.type == "checkpoint" and e.path:
            _went_on(f)
            f.checkpoints.pop(e.path, None)
            f.checkpoints[e.path] = e.step
            f.final_saved = f.final_saved or bool(e.final)
            if not f.trained and e.step is not None:
                f.last_step = max(f.last_step or 0, e.step)
        elif e.type == "resume":
            f.resumed_from = e.step
        elif e.type == "error":
            f.errors.append(e)
        elif e.type == "warning" and e.code in ("stall", "slowdown"):
            f.watch = e
    return f


def _went_on(f: _Facts) -> None:
    """Training continued: earlier errors (other than a NaN loss) and interruptions did not end the run."""
    f.survived += [e for e in f.errors if e.code != "nan_loss"]
    f.errors = [e for e in f.errors if e.code == "nan_loss"]
    f.interrupted = None


def summarize(
    events: Iterable[Event],
    *,
    exit_code: int | None = None,
    final_lora_exists: bool | None = None,
    backend: str | None = None,
    context: RunContext | None = None,
) -> Summary:
    """Status and diagnosis of a run. Without an exit code the text alone decides: only a final save counts
    as completed, and a log that just stops is still running. `context` (the plan's values, the trainer's
    Python, the run folder) makes the fixes concrete."""
    f = _facts(events)
    status, diagnosis = _judge(f, exit_code, final_lora_exists, backend, context)
    return Summary(
        status=status,
        last_step=f.last_step,
        total=f.total,
        checkpoints=[{"step": step, "path": path} for path, step in f.checkpoints.items()],
        resumed_from=f.resumed_from,
        diagnosis=diagnosis,
        last_loss=f.last_loss,
    )


def _judge(f: _Facts, exit_code: int | None, final_exists: bool | None, backend: str | None,
           context: RunContext | None = None):
    if exit_code in INTERRUPT_EXIT_CODES or f.interrupted is not None:
        return "interrupted", _interrupted(f, context)
    if f.errors:
        # stdout and stderr arrive apart: a save line of the same step can land after the error it failed with
        same_step = [e for e in f.survived if e.step is not None and e.step == f.errors[-1].step]
        return "failed", _from_errors(same_step + f.errors, backend, context)
    if exit_code is None:
        if f.final_saved:
            return "completed", None
        return "running", _watch(f.watch, context) if f.watch else None
    if exit_code in KILLED_EXIT_CODES:
        return "failed", out_of_memory(None, backend, killed=True, context=context)
    if exit_code != 0:
        if f.survived:
            return "failed", _from_errors(f.survived, backend, context)
        return "failed", Diagnosis(
            "crash", f"The trainer exited with code {exit_code} without an error message.", fix_for("crash", context)
        )
    if final_exists or (final_exists is None and (f.final_saved or f.trained)):
        return "completed", None
    if not f.trained and not f.final_saved:
        return "failed", Diagnosis(
            "no_data",
            "The trainer exited with code 0 without training a single step "
            "(sd-scripts does this when it finds no images).",
            FIXES["no_data"],
        )
    return "failed", Diagnosis(
        "no_output", "The trainer exited with code 0 but the final LoRA file is missing.", FIXES["no_output"]
    )


def _from_errors(errors: list[Event], backend: str | None, context: RunContext | None) -> Diagnosis:
    main = _main_error(errors, backend)
    if refine(main.code, main.message) == "crash" and any(was_killed(e.message) for e in errors):
        # the kernel's OOM killer leaves no message of the trainer's own, only accelerate's report of the SIGKILL
        return out_of_memory(main, backend, killed=True, context=context)
    return from_error(main, backend, context)


def _main_error(errors: list[Event], backend: str | None = None) -> Event:
    def rank(e: Event) -> int:
        return priority(refine(e.code, e.message), backend)

    best = min(rank(e) for e in errors)
    candidates = [e for e in errors if rank(e) == best]
    # `accelerate launch` repeats any child failure as CalledProcessError: the child's own error says more.
    own = [e for e in candidates if not (e.message or "").startswith("subprocess.CalledProcessError")]
    return (own or candidates)[-1]


def _interrupted(f: _Facts, context: RunContext | None = None) -> Diagnosis:
    at = f" at step {f.last_step}" if f.last_step is not None else ""
    last = list(f.checkpoints.items())[-1] if f.checkpoints else None
    saved = f"; the last checkpoint is {last[0]}" if last else "; no checkpoint was saved"
    return Diagnosis(
        "interrupted", f"The run was stopped (Ctrl-C or a signal){at}{saved}.", fix_for("interrupted", context)
    )


def _watch(event: Event, context: RunContext | None = None) -> Diagnosis:
    code = event.code or "stall"
    return Diagnosis(code, event.message or "", fix_for(code, context) if code in FIXES else "")
