"""Where an sd-scripts run continues: only from a `--save_state` folder, given with `--resume`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from fluxgen.errors import UserError
from fluxgen.runs.checkpoints import ResumePoint, diverged, safetensors_problem

if TYPE_CHECKING:
    from fluxgen.plan import Plan

_STATE_RE = re.compile(r"-(?:step\d{8}-|\d{6}-)?state")


def check_resumable(point: ResumePoint, run_dir: Path) -> None:
    """Without a saved state sd-scripts cannot continue at all (a LoRA checkpoint alone holds no optimizer)."""
    if point.path is None:
        why = "; ".join(f"{p.name}: {w}" for p, w in point.skipped) or "none was saved"
        raise UserError(f"{run_dir}: no usable training state in output/ ({why}); sd-scripts resumes only from "
                        f"a --save_state folder, so train again with `fluxgen reproduce {run_dir}`")


def resume_point(plan: Plan, run_dir: Path, bad_from: int | None = None) -> ResumePoint:
    """sd-scripts continues from a `--save_state` folder: `<name>[-stepNNNNNNNN|-NNNNNN]-state` with its
    `train_state.json` ({"current_epoch", "current_step"}) and the LoRA weights (reference sd-scripts.md §5)."""
    out = run_dir / "output"
    name = plan.values["name"]
    found: list[tuple[int, Path]] = []
    skipped: list[tuple[Path, str]] = []
    for folder in sorted(out.glob(f"{name}*-state")) if out.is_dir() else []:
        if not folder.is_dir() or not _STATE_RE.fullmatch(folder.name[len(name):]):
            continue
        step, problem = _state_step(folder)
        problem = problem or diverged(step, bad_from)
        if problem:
            skipped.append((folder, problem))
        else:
            found.append((step, folder))
    if not found:
        return ResumePoint(None, None, [], skipped)
    step, folder = max(found, key=lambda f: f[0])
    # `--skip_until_initial_step` makes sd-scripts continue at the saved step instead of the next epoch's start.
    args = ["--resume", str(folder.relative_to(run_dir)), "--skip_until_initial_step"]
    return ResumePoint(step, folder, args, skipped)


def _state_step(folder: Path) -> tuple[int, str | None]:
    try:
        state = json.loads((folder / "train_state.json").read_text(encoding="utf-8"))
        step = int(state["current_step"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0, "no readable train_state.json"
    weights = folder / "model.safetensors"
    problem = safetensors_problem(weights)
    if problem:
        return step, f"model.safetensors: {problem}"
    optimizer = sorted(folder.glob("optimizer*"))
    if not optimizer:
        return step, "no optimizer state"
    if any(path.is_file() and path.stat().st_size == 0 for path in optimizer):
        return step, f"{optimizer[0].name} is empty"
    return step, None
