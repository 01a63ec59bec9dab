"""One point of a sweep, wherever it runs (a local child, a SLURM array task, a SkyPilot job): `fluxgen train`
into the point's own --runs folder the first time, `fluxgen resume` of its run folder after an interruption,
nothing once it completed. Running it twice is safe, which is what makes a requeued job resume."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.runs.sweep.state import DONE, point_lock, point_run_dir, point_runs, read_sweep

# Plan options recorded in sweep.json, as the `fluxgen train` flags they came from.
PLAN_FLAGS = ("images", "trigger", "kind", "rank", "steps", "backend", "vram")
FOLLOW_FLAGS = ("stall_after", "on_stall", "slowdown_factor", "grace")


def _flags(options: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for name in names:
        if options.get(name) is not None:
            out += [f"--{name.replace('_', '-')}", str(options[name])]
    return out


def follow_args(data: dict[str, Any]) -> list[str]:
    follow = data.get("follow") or {}
    return _flags(follow, FOLLOW_FLAGS) + (["--no-report"] if follow.get("no_report") else [])


def train_args(data: dict[str, Any], sweep_dir: Path, point: dict[str, Any]) -> list[str]:
    """`fluxgen train` arguments for a point: the sweep's plan options, its --set values, then the point's."""
    plan = data["plan"]
    sets = [*plan.get("sets", []), *[f"{k}={v}" for k, v in point["values"].items()]]
    args = ["train", *([data["intent"]] if data.get("intent") else []), *_flags(plan, PLAN_FLAGS)]
    args += [item for s in sets for item in ("--set", s)]
    args += ["--runs", str(point_runs(sweep_dir, point["id"]).resolve()), *follow_args(data)]
    return args + (["--force"] if plan.get("force") else []) + (["--download"] if plan.get("download") else [])


def point_args(sweep_dir: Path, point_id: str) -> tuple[list[str] | None, str]:
    """The fluxgen arguments that move a point on (None when it is done), and what they do."""
    data = read_sweep(sweep_dir)
    point = next((p for p in data["points"] if p["id"] == point_id), None)
    if point is None:
        raise UserError(f"{sweep_dir}: no point {point_id} in sweep.json")
    if point.get("same_as"):
        return None, f"same plan as {point['same_as']}"
    run_dir = point_run_dir(sweep_dir, point_id)
    if run_dir is None:
        return train_args(data, Path(sweep_dir), point), "train"
    from fluxgen.runs.manifest import effective_status, read_manifest

    status = effective_status(read_manifest(run_dir))
    if status == DONE:
        return None, "completed"
    return ["resume", str(run_dir.resolve()), *follow_args(data)], f"resume ({status})"


def run_point(sweep_dir: Path, point_id: str) -> int:
    """Train or resume the point in this process, under its lock; the exit status of `fluxgen train`."""
    from fluxgen.cli import main

    sweep_dir = Path(sweep_dir).resolve()
    with point_lock(sweep_dir, point_id):
        args, what = point_args(sweep_dir, point_id)
        print(f"fluxgen sweep: point {point_id}: {what}", flush=True)
        if args is None:
            return 0
        print(f"fluxgen sweep: fluxgen {shlex.join(args)}", flush=True)
        data = read_sweep(sweep_dir)
        os.chdir(Path(data.get("cwd") or "."))  # relative intent paths and --images resolve as they did for `fluxgen sweep`
        try:
            main(args)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def point_command(sweep_dir: Path, point_id: str) -> list[str]:
    """The argv that runs one point in a fresh process (local children, SLURM jobs)."""
    return [sys.executable, "-m", "fluxgen", "sweep", "run-point", str(Path(sweep_dir).resolve()), point_id]
