"""How an attempt ended: the monitor's summary of its events, then what only the runner knows on top of it.

The runner knows whether fluxgen itself stopped the trainer (Ctrl-C, SIGTERM, SIGHUP, a stall), which checkpoint
a resume would continue from, the plan (for concrete memory advice) and the run's earlier diagnosis. Everything a
diagnosis says is redacted before it reaches the manifest, the report or the terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.events import Diagnosis, Event, Summary

if TYPE_CHECKING:
    from fluxgen.plan import Plan


def run_context(plan: Plan, launch: Any, run_dir: Path) -> Any:
    """What the monitor's advice needs to name fluxgen options and commands for this run."""
    from fluxgen.checkouts import locate
    from fluxgen.errors import UserError
    from fluxgen.monitor.advice import RunContext

    trainer_dir = None
    try:
        found = locate(plan.backend, dict(launch.environ()))
        trainer_dir = str(found.dir) if found.dir else None
    except UserError:  # the user config changed under the run: the advice just names no folder
        pass
    python = launch.argv[0] if launch.argv else None
    return RunContext(dict(plan.values), python, trainer_dir, str(run_dir))


def classify(plan: Plan, events: list[Event], ended: Any, outputs: Any, run_dir: Path, *, context: Any = None,
             previous: dict[str, Any] | None = None, resumed: bool = False) -> Summary:
    """Summarize the events with the exit code and the final file, then account for a stop fluxgen made."""
    from fluxgen.monitor.diagnose import fix_for, summarize

    summary = summarize(events, exit_code=ended.exit_code, final_lora_exists=outputs.final is not None,
                        backend=plan.backend, context=context)
    if ended.stop_reason == "stall":
        stall = next((e for e in reversed(events) if e.code == "stall"), None)
        message = stall.message if stall and stall.message else "The trainer made no progress."
        summary.status = "failed"
        summary.diagnosis = Diagnosis("stall", f"{message} fluxgen stopped it (--on-stall stop).",
                                      fix_for("stall", context))
    elif summary.status == "interrupted" or (ended.stop_reason and summary.status != "completed"):
        summary.status = "interrupted"
        summary.diagnosis = interrupted(plan, outputs, ended, summary, run_dir)
    elif summary.status == "completed" and resumed and _still_diverged(events, previous):
        summary.status = "failed"
        summary.diagnosis = _nothing_trained(summary, context)
    return summary


def _still_diverged(events: list[Event], previous: dict[str, Any] | None) -> bool:
    """A resume of a run whose loss went NaN that trained no step: its final file is not a fixed run."""
    return bool(previous) and previous.get("code") == "nan_loss" and not any(e.type == "progress" for e in events)


def _nothing_trained(summary: Summary, context: Any) -> Diagnosis:
    from fluxgen.monitor.diagnose import fix_for

    at = f" at step {summary.resumed_from}" if summary.resumed_from is not None else ""
    return Diagnosis("nan_loss", f"The trainer continued{at} and trained no step, so the final LoRA still comes from "
                                 "the attempt whose loss became NaN.", fix_for("nan_loss", context))


def interrupted(plan: Plan, outputs: Any, ended: Any, summary: Summary, run_dir: Path) -> Diagnosis:
    """Say where the run stopped and which checkpoint is the last one a resume continues from."""
    from fluxgen.backends import get_backend
    from fluxgen.runs.checkpoints import resume_point

    how = f"by {ended.stop_reason}" if ended.stop_reason else "by a signal"
    at = f" at step {summary.last_step}" + (f"/{summary.total}" if summary.total else "") if summary.last_step else ""
    point = resume_point(plan, Path(run_dir), move_broken=False)
    if point.path is not None:
        last = f"The last checkpoint is {point.path.relative_to(run_dir)} (step {point.step})."
    else:
        last = "No checkpoint was saved, so a resume starts again from step 0."
    lost = ""
    if not get_backend(plan.backend).saves_on_stop and summary.last_step and (point.step or 0) < summary.last_step:
        lost = (f" {plan.backend} writes no checkpoint when it is stopped: steps after {point.step or 0} are lost "
                "and will be trained again.")
    return Diagnosis("interrupted", f"The run was stopped {how}{at}. {last}{lost}",
                     f"Continue it with `fluxgen resume {run_dir}`.")


def redact_result(summary: Summary, events: list[Event], redact: Callable[[str], str]) -> None:
    """Secrets a trainer printed (a token in an HTTP error) never reach a file fluxgen writes or its output."""
    d = summary.diagnosis
    if d is not None:
        summary.diagnosis = Diagnosis(d.code, redact(d.message), redact(d.fix))
    for event in events:
        if event.message:
            event.message = redact(event.message)
        if event.path:
            event.path = redact(event.path)
