"""Resuming a SimpleTuner run: it saves `output/checkpoint-<step>/` (accelerate state, `training_state.json`, the LoRA)
and writes `.guard` into the folder last (st:utils/checkpoint_manager). fluxgen renders
`resume_from_checkpoint: latest`, which starts fresh when there is no checkpoint and otherwise continues from the
highest step, guard or not; so before a resume, unfinished or diverged folders above the one to use are moved out
of `output/` (SimpleTuner reads only its JSON file, so the command line cannot name another folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

GUARD = ".guard"
STATE = "training_state.json"
SET_ASIDE = "set-aside"


def checkpoint_folders(output_dir: Path) -> list[tuple[int, Path]]:
    """`checkpoint-<step>` folders, newest first (the `-tmp` ones SimpleTuner writes into are skipped, as it does)."""
    found = []
    for folder in output_dir.glob("checkpoint-*") if output_dir.is_dir() else []:
        step = folder.name.removeprefix("checkpoint-")
        if folder.is_dir() and step.isdigit():
            found.append((int(step), folder))
    return sorted(found, reverse=True)


def problem(folder: Path) -> str | None:
    """Why a checkpoint folder cannot be resumed from, or None."""
    if not (folder / GUARD).is_file():
        return "unfinished (no .guard: SimpleTuner was stopped while saving it)"
    if not (folder / STATE).is_file():
        return f"no {STATE}"
    return None


def resume_point(run_dir: Path, *, bad_from: int | None = None, move_broken: bool = True, **_: Any) -> Any:
    """The newest finished checkpoint (steps at or after `bad_from`, where the loss went NaN, do not count); newer
    folders are moved to `set-aside/` so that SimpleTuner's `latest` is that one."""
    from fluxgen.runs.checkpoints import ResumePoint

    run_dir = Path(run_dir)
    point = ResumePoint(None, None, [])
    newer: list[Path] = []
    for step, folder in checkpoint_folders(run_dir / "output"):
        why = problem(folder)
        if why is None and bad_from is not None and step >= bad_from:
            why = f"saved at or after step {bad_from}, where the loss became NaN"
        if why is None:
            point.step, point.path = step, folder
            break
        point.skipped.append((folder, why))
        newer.append(folder)
    if move_broken and point.path is not None:
        for folder in newer:
            target = run_dir / SET_ASIDE / folder.name
            target.parent.mkdir(exist_ok=True)
            if not target.exists():
                folder.rename(target)
                point.moved.append((folder, target))
    return point
