"""The sweep folder: `sweep.json` (grid, points, plan hashes, run folders, executor, job ids, states), one
`runs/<point>/` folder per point holding its ordinary run folder, `points/<point>.log` and the locks.

sweep.json is written only by the command that holds `sweep.lock`; a point's state is read from its run folder's
manifest, so `sweep status` is right even while that command is gone.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.fsio import atomic_write

SWEEP_JSON, LOCK = "sweep.json", "sweep.lock"
DONE = "completed"


def read_sweep(sweep_dir: Path) -> dict[str, Any]:
    path = Path(sweep_dir) / SWEEP_JSON
    if not path.is_file():
        raise UserError(f"{sweep_dir}: not a sweep folder (no {SWEEP_JSON}); give a folder made by `fluxgen sweep`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); the sweep record is damaged") from None
    if not isinstance(data, dict) or not isinstance(data.get("points"), list):
        raise UserError(f"{path}: no points list; the sweep record is damaged")
    return data


def write_sweep(sweep_dir: Path, data: dict[str, Any]) -> None:
    atomic_write(Path(sweep_dir) / SWEEP_JSON, json.dumps(data, indent=2, ensure_ascii=False) + "\n", force=True)


@contextmanager
def locked(path: Path, what: str) -> Iterator[None]:
    """An exclusive lock, refused at once (not waited for) when another command holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise UserError(f"{path.parent}: {what} is in use by {holder}; wait for it or stop it "
                            f"(`fluxgen sweep cancel`)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)


def sweep_lock(sweep_dir: Path) -> Any:
    return locked(Path(sweep_dir) / LOCK, "the sweep")


def point_lock(sweep_dir: Path, point_id: str) -> Any:
    return locked(Path(sweep_dir) / "points" / f"{point_id}.lock", f"point {point_id}")


def point_runs(sweep_dir: Path, point_id: str) -> Path:
    """The --runs folder of one point: it holds that point's run folder (and nothing else)."""
    return Path(sweep_dir) / "runs" / point_id


def point_run_dir(sweep_dir: Path, point_id: str) -> Path | None:
    from fluxgen.runs.folder import is_run_dir

    root = point_runs(sweep_dir, point_id)
    found = sorted(p for p in root.iterdir() if is_run_dir(p)) if root.is_dir() else []
    return found[-1] if found else None


def trained(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The points that train (a point with the plan of an earlier one is shown with that one's run)."""
    return [p for p in points if not p.get("same_as")]


def point_state(sweep_dir: Path, point: dict[str, Any]) -> dict[str, Any]:
    """State, step, total, loss and diagnosis of one point, from its run folder (or `pending`)."""
    from fluxgen.runs.listing import run_row
    from fluxgen.runs.manifest import read_manifest

    source = point.get("same_as") or point["id"]
    run_dir = point_run_dir(sweep_dir, source)
    if run_dir is None:
        return {"state": "pending", "run_dir": None, "step": None, "total": None, "loss": None, "diagnosis": None}
    row = run_row(run_dir)
    diagnosis = read_manifest(run_dir).diagnosis
    return {"state": row.status, "run_dir": str(run_dir.relative_to(sweep_dir)), "step": row.step,
            "total": row.total, "loss": row.loss, "diagnosis": diagnosis}


def refresh_states(sweep_dir: Path, data: dict[str, Any]) -> dict[str, Any]:
    """sweep.json's copy of each point's state and run folder, read again from the run folders."""
    for point in data["points"]:
        state = point_state(sweep_dir, point)
        point.update(state=state["state"], run_dir=state["run_dir"],
                     diagnosis=(state["diagnosis"] or {}).get("code"))
    return data
