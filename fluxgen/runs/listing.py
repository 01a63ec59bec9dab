"""`fluxgen runs` and `fluxgen status`: read run folders, including runs that are still going.

A live run's manifest says `running`; its progress is in events.jsonl, replayed through the follower with the
recorded times to get the step, smoothed loss, speed and ETA. A `running` run whose fluxgen process is gone is
reported as `stale`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fluxgen.runs.folder import is_run_dir, run_label
from fluxgen.runs.manifest import effective_status, read_manifest
from fluxgen.runs.record import read_events, to_event


@dataclass
class RunRow:
    dir: Path
    name: str
    backend: str | None
    status: str
    step: int | None
    total: int | None
    loss: float | None
    started: str | None
    attempts: int

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.dir.name, "path": str(self.dir), "name": self.name, "backend": self.backend,
                "status": self.status, "step": self.step, "total": self.total, "last_loss": self.loss,
                "started": self.started, "attempts": self.attempts}


def _progress(run_dir: Path) -> tuple[int | None, int | None, float | None]:
    """The last step, total and loss recorded in events.jsonl."""
    step = total = loss = None
    for row in read_events(run_dir):
        if row.get("type") == "progress":
            step, total = row.get("step", step), row.get("total", total)
            loss = row.get("loss") if row.get("loss") is not None else loss
    return step, total, loss


def run_row(run_dir: Path) -> RunRow:
    m = read_manifest(run_dir)
    step, total, loss = _progress(run_dir)
    return RunRow(run_dir, m.name or run_label(run_dir), m.backend, effective_status(m),
                  step if step is not None else m.last_step, total or m.total or m.steps,
                  loss if loss is not None else m.last_loss, m.started, len(m.attempts))


def list_runs(runs_root: Path) -> list[RunRow]:
    """Every run folder under runs_root, oldest first; one whose record cannot be read is listed as `damaged`."""
    root = Path(runs_root)
    if not root.is_dir():
        return []
    rows = [_row_or_damaged(p) for p in sorted(root.iterdir()) if is_run_dir(p)]
    return sorted(rows, key=lambda r: (r.started or "", r.dir.name))


def _row_or_damaged(run_dir: Path) -> RunRow:
    from fluxgen.errors import UserError

    try:
        return run_row(run_dir)
    except (UserError, OSError, ValueError, TypeError, AttributeError):
        return RunRow(run_dir, run_label(run_dir), None, "damaged", None, None, None, None, 0)


def age(started: str | None, now: datetime | None = None) -> str:
    """`5 min`, `3 h`, `2 d` since an ISO time; `-` when unknown."""
    try:
        then = datetime.fromisoformat(str(started))
    except ValueError:
        return "-"
    seconds = ((now or datetime.now(then.tzinfo)) - then).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(max(seconds, 0))} s"


def run_status(run_dir: Path) -> dict[str, Any]:
    """The state of one run: status, diagnosis, progress (with speed and ETA while it runs), outputs, attempts."""
    from fluxgen.monitor.follow import Follower

    m = read_manifest(run_dir)
    status = effective_status(m)
    follower = Follower(total=m.steps, clock=time.monotonic, stall_after=float("inf"))
    last_t = None
    saved: dict[str, Any] = {}  # checkpoints from the events: the manifest lists them only when an attempt ends
    for row in read_events(run_dir):
        last_t = row.get("t", last_t)
        follower.update(to_event(row), now=row.get("t", 0.0))
        if row.get("type") == "checkpoint" and isinstance(row.get("path"), str):
            saved[row["path"]] = {"step": row.get("step"), "path": _relative(row["path"], run_dir)}
    live = follower.snapshot()
    if status != "running":
        live["eta_seconds"] = None
    quiet = None
    if status == "running" and last_t is not None and m.t0:
        quiet = round(time.time() - m.t0 - last_t, 1)
    left = None
    if status == "stale":  # fluxgen was killed (SIGKILL): its trainer may still be running on its own
        from fluxgen.errors import UserError
        from fluxgen.runs.session import check_no_trainer_left, left_trainer_group

        try:
            check_no_trainer_left(run_dir, m)
        except UserError:
            left = left_trainer_group(m)
    return {
        "left_trainer": left,
        "run": str(run_dir), "name": m.name or run_label(run_dir), "backend": m.backend,
        "status": status, "diagnosis": m.diagnosis, "progress": live, "seconds_since_output": quiet,
        "started": m.started, "ended": m.ended, "exit_code": m.exit_code, "final_lora": m.final_lora,
        "checkpoints": list(saved.values()) if status == "running" else m.checkpoints or list(saved.values()),
        "warnings": m.warnings, "attempts": [a.model_dump(mode="json", exclude_unset=True) for a in m.attempts],
    }


def _relative(path: str, run_dir: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(run_dir).resolve()))
    except (ValueError, OSError):
        return path
