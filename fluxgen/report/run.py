"""Read a run folder written by `fluxgen train`, tolerating every optional part being absent."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.errors import UserError

if TYPE_CHECKING:
    from fluxgen.runs.manifest import RunManifest

LOG_TAIL_LINES = 40
RUN_MARKERS = ("manifest.json", "plan.json")


@dataclass
class Run:
    """Everything read from a run folder; absent optional parts are empty, never an error."""

    dir: Path
    manifest: RunManifest
    plan: dict[str, Any]
    command: dict[str, Any]
    points: list[tuple[int, float]]  # (step, loss) in log order
    speeds: list[float]
    lint: dict[str, Any] | None
    log_tail: list[str]
    checkpoints: list[dict[str, Any]] = field(default_factory=list)

    @property
    def values(self) -> dict[str, Any]:
        return self.plan.get("values") or {}

    @property
    def planned_steps(self) -> int | None:
        return as_int(self.values.get("steps"))

    @property
    def status(self) -> str:
        """The manifest's status; older or partial records fall back on the exit code."""
        if self.manifest.status:
            return self.manifest.status
        code = self.manifest.exit_code
        return "unknown" if code is None else ("completed" if code == 0 else "failed")


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); the run record is damaged") from None


def as_int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def load_run(run_dir: Path) -> Run:
    """Read a run folder written by `fluxgen train`; only a missing folder or record is an error."""
    if not run_dir.exists():
        raise UserError(f"{run_dir}: no such run folder")
    if not run_dir.is_dir() or not any((run_dir / m).is_file() for m in RUN_MARKERS):
        raise UserError(f"{run_dir}: not a run folder (no manifest.json or plan.json); "
                        "give a folder written by `fluxgen train`")
    from fluxgen.runs.manifest import read_manifest

    manifest = read_manifest(run_dir)
    run = Run(run_dir, manifest, _read_json(run_dir / "plan.json") or {},
              _read_json(run_dir / "command.json") or {}, [], [], _read_json(run_dir / "dataset-lint.json"),
              _log_tail(run_dir / "train.log"))
    run.points, run.speeds = _metrics(run_dir)
    run.checkpoints = _checkpoints(run_dir, manifest)
    return run


def _metrics(run_dir: Path) -> tuple[list[tuple[int, float]], list[float]]:
    """Loss points from metrics.csv, else from the progress events; unreadable rows are skipped."""
    rows: list[dict[str, Any]] = []
    csv_path, events_path = run_dir / "metrics.csv", run_dir / "events.jsonl"
    if csv_path.is_file():
        with csv_path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    elif events_path.is_file():
        for line in events_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a run killed mid-write leaves a partial last line
            if isinstance(event, dict) and event.get("type") == "progress":
                rows.append(event)
    points = [(as_int(r.get("step")), as_float(r.get("loss"))) for r in rows]
    speeds = [s for s in (as_float(r.get("seconds_per_it")) for r in rows) if s is not None and s > 0]
    return [(s, v) for s, v in points if s is not None and v is not None], speeds


def _log_tail(path: Path) -> list[str]:
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    # tqdm redraws with \r: keep only the last state of each line
    lines = [line.split("\r")[-1].rstrip()[:400] for line in text.split("\n")]
    return [line for line in lines if line][-LOG_TAIL_LINES:]


def _checkpoints(run_dir: Path, manifest: RunManifest) -> list[dict[str, Any]]:
    """Checkpoints and the final LoRA with their size on disk (None when the file is gone)."""
    rows = [{"step": as_int(c.get("step")), "path": str(c.get("path", "")), "final": False}
            for c in manifest.checkpoints]
    final = manifest.final_lora
    if final:
        rows.append({"step": None, "path": str(final), "final": True})
    for row in rows:
        file = resolve(run_dir, row["path"])
        row["size"] = file.stat().st_size if file.is_file() else None
    return rows


def resolve(run_dir: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else run_dir / p

