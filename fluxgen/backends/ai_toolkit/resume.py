"""Where an ai-toolkit run continues: it resumes by itself from the newest `<name>*` file in its folder (by ctime),
so fluxgen picks the newest whole checkpoint and moves everything that would shadow it out of the way."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.runs.checkpoints import ResumePoint, newest_checkpoint, set_aside

if TYPE_CHECKING:
    from fluxgen.plan import Plan


def resume_point(plan: Plan, run_dir: Path, outputs: Any, *, move_broken: bool = True,
                 bad_from: int | None = None) -> ResumePoint:
    point = newest_checkpoint(outputs, [], move_broken=move_broken, bad_from=bad_from)
    if move_broken:
        _clear_the_way(plan, run_dir, point)
    return point


def _clear_the_way(plan: Plan, run_dir: Path, point: ResumePoint) -> None:
    """ai-toolkit continues from the newest `<name>*` file by ctime, whatever fluxgen chose (reference
    ai-toolkit.md §4): after a run that saved its final `<name>.safetensors` and still failed (NaN, a crash in the
    last sample) that is the final file. Set aside the final file and everything newer than the chosen checkpoint."""
    name = plan.values["name"]
    root = run_dir / "output" / name
    since = point.path.stat().st_ctime_ns if point.path is not None else None
    for path in sorted(root.glob(f"{glob.escape(name)}*")) if root.is_dir() else []:
        if path == point.path:
            continue
        final = path.name == f"{name}.safetensors"
        if final or since is None or path.stat().st_ctime_ns > since:
            why = ("the final LoRA of an unfinished run (ai-toolkit would continue from it)" if final
                   else "newer than the checkpoint to continue from (ai-toolkit would take it)")
            point.skipped.append((path, why))
            point.moved.append((path, set_aside(path)))
