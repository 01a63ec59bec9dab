"""Which checkpoint or saved state a run can continue from: valid files only, the newest first.

A trainer stopped while saving leaves a truncated file (ai-toolkit's README warns about Ctrl-C during a save), and
ai-toolkit resumes from the newest file by ctime without checking it (reference ai-toolkit.md §4), so fluxgen checks
every candidate and moves broken ones out of the trainer's way before resuming.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fluxgen.plan import Plan

SKIPPED_DIR = "fluxgen-skipped"  # broken checkpoints are moved here (ai-toolkit only globs `<name>*`)


def safetensors_problem(path: Path) -> str | None:
    """Why a .safetensors file is unusable (missing, truncated, bad header), or None when it is whole."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                return "shorter than a safetensors header"
            (length,) = struct.unpack("<Q", head)
            if length > size - 8 or length > 100_000_000:
                return "header runs past the end of the file (truncated)"
            header = json.loads(fh.read(length))
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError) as exc:
        return f"unreadable header ({exc.__class__.__name__})"
    if not isinstance(header, dict):
        return "header is not a JSON object"
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__" and isinstance(t, dict)
            and isinstance(t.get("data_offsets"), list) and len(t["data_offsets"]) == 2]
    if not ends and len(header) <= 1:
        return "holds no tensors"
    if 8 + length + max(ends, default=0) > size:
        return "tensor data runs past the end of the file (truncated)"
    return None


@dataclass
class ResumePoint:
    """Where the next attempt starts: the step, the file or state folder, and what was skipped on the way."""

    step: int | None
    path: Path | None
    extra_args: list[str] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (path, why)
    moved: list[tuple[Path, Path]] = field(default_factory=list)  # (from, to)

    def to_dict(self, run_dir: Path) -> dict[str, Any]:
        def rel(p: Path | None) -> str | None:
            if p is None:
                return None
            try:
                return str(p.relative_to(run_dir))
            except ValueError:
                return str(p)

        return {"step": self.step, "path": rel(self.path), "extra_args": self.extra_args,
                "skipped": [{"path": rel(p), "why": why} for p, why in self.skipped]}


def resume_point(plan: Plan, run_dir: Path, *, move_broken: bool = True, bad_from: int | None = None) -> ResumePoint:
    """The newest valid checkpoint/state of a run for its backend, with the trainer arguments that use it.
    `bad_from`: the step the loss became NaN at; what was saved from then on carries the divergence."""
    from fluxgen.backends import get_backend

    return get_backend(plan.backend).resume_point(plan, Path(run_dir), move_broken=move_broken, bad_from=bad_from)


def newest_checkpoint(outputs: Any, extra_args: list[str], *, move_broken: bool = True, bad_from: int | None = None,
                      companion: Callable[[Path], str | None] | None = None) -> ResumePoint:
    """For trainers that continue from their LoRA checkpoints: the newest whole one before any divergence; broken
    ones are moved out of the trainer's way (when `move_broken`). `companion` says what is wrong with the other
    files a checkpoint needs to resume exactly (an optimizer state beside it), None when they are whole."""
    point = ResumePoint(None, None, list(extra_args))
    for step, path in sorted(outputs.checkpoints, key=lambda c: c[0], reverse=True):
        problem = safetensors_problem(path) or (companion(path) if companion else None) or diverged(step, bad_from)
        if problem is None:
            if point.path is None:
                point.step, point.path = step, path
            continue
        point.skipped.append((path, problem))
        if move_broken:
            point.moved.append((path, set_aside(path)))
    return point


def torch_save_problem(path: Path) -> str | None:
    """Why a `torch.save` file cannot be loaded (missing, garbage, truncated), read without torch: it is a zip
    archive whose central directory, at the very end, is the first thing a truncation loses."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            if not archive.namelist():
                return f"{path.name} is empty"
    except FileNotFoundError:
        return f"{path.name} is missing"
    except (OSError, zipfile.BadZipFile, ValueError):
        return f"{path.name} is damaged or truncated"
    return None


def diverged(step: int, bad_from: int | None) -> str | None:
    return f"saved after the loss became NaN at step {bad_from}" if bad_from is not None and step >= bad_from else None


def set_aside(path: Path) -> Path:
    """Move a file or folder into `fluxgen-skipped/` beside it (never over an earlier one): kept, but out of the
    trainer's sight."""
    folder = path.parent / SKIPPED_DIR
    folder.mkdir(exist_ok=True)
    target, n = folder / path.name, 2
    while target.exists():
        target, n = folder / f"{path.stem}.{n}{path.suffix}", n + 1
    path.replace(target)
    return target
