"""Make a sweep folder: plan every point with the same code as `fluxgen train` (so a bad value fails here, before
anything is written or submitted), mark identical plans, write sweep.json."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.runs.sweep.grid import expand, parse_grid, plan_points
from fluxgen.runs.sweep.state import SWEEP_JSON, write_sweep

PLAN_KEYS = ("images", "trigger", "kind", "rank", "steps", "backend", "vram")


def plan_for(intent: str | None, plan_kw: dict[str, Any]) -> Any:
    """`(point) -> Plan` with the sweep's plan options and the point's values as the last --set."""
    from fluxgen.plan import PlanOptions, build_plan

    def plan(point: Any) -> Any:
        opts = PlanOptions(**{k: plan_kw.get(k) for k in PLAN_KEYS}, sets=[*plan_kw.get("sets", []), *point.sets])
        return build_plan(intent, opts)

    return plan


def sweep_folder(out: Path | None, name: str, root: Path = Path("sweeps")) -> Path:
    """--out as given (new or empty), or a new `sweeps/<name>-<timestamp>`."""
    from fluxgen.runs.folder import new_run_dir

    if out is None:
        return new_run_dir(root, name)
    out = Path(out)
    if (out / SWEEP_JSON).exists():
        raise UserError(f"{out}: already holds a sweep; `fluxgen sweep resume {out}` continues it, or choose "
                        "another --out")
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out}: not empty; choose a new folder for --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def create_sweep(intent: str | None, plan_kw: dict[str, Any], grid_items: list[str], executor: dict[str, Any],
                 follow: dict[str, Any], out: Path | None) -> tuple[Path, dict[str, Any]]:
    """Plan the points, then create the folder and sweep.json (nothing is written when a point cannot plan)."""
    from fluxgen import __version__
    from fluxgen.runs.manifest import now_iso

    grid = parse_grid(grid_items)
    points = expand(grid)
    plans = plan_points(points, plan_for(intent, plan_kw))
    folder = sweep_folder(out, plans[0].values["name"] + "-sweep")
    data = {
        "version": 1, "created": now_iso(), "fluxgen": __version__, "cwd": os.getcwd(), "intent": intent,
        "plan": {**{k: plan_kw.get(k) for k in PLAN_KEYS}, "sets": list(plan_kw.get("sets", [])),
                 "force": bool(plan_kw.get("force")), "download": bool(plan_kw.get("download"))},
        "follow": follow, "grid": grid, "backend": plans[0].backend, "executor": executor,
        "points": [p.to_dict() for p in points], "jobs": {},
    }
    write_sweep(folder, data)
    return folder, data
