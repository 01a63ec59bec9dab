"""Which checkpoint or saved state a run can continue from: valid files only, the newest first.

A trainer stopped while saving leaves a truncated file (ai-toolkit's README warns about Ctrl-C during a save), and
ai-toolkit resumes from the newest file by ctime without checking it (reference ai-toolkit.md §4), so fluxgen checks
every candidate and moves broken ones out of the trainer's way before resuming.
"""

from __future__ import annotations

import glob
import json
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SKIPPED_DIR = "fluxgen-skipped"  # broken checkpoints are moved here (ai-toolkit only globs `<name>*`)
_SD_STATE_RE = re.compile(r"-(?:step\d{8}-|\d{6}-)?state")


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


def resume_point(plan: Any, run_dir: Path, *, move_broken: bool = True, bad_from: int | None = None) -> ResumePoint:
    """The newest valid checkpoint/state of a run for its backend, with the trainer arguments that use it.
    `bad_from`: the step the loss became NaN at; what was saved from then on carries the divergence."""
    backend = plan.backend
    if backend == "sd-scripts":
        return _sd_state(plan, Path(run_dir), bad_from)
    from fluxgen.backends import get_backend

    outputs = get_backend(backend).find_outputs(plan, Path(run_dir))
    point = ResumePoint(None, None, ["--resume"] if backend == "builtin" else [])
    companion = COMPANION_CHECKS.get(backend)
    for step, path in sorted(outputs.checkpoints, key=lambda c: c[0], reverse=True):
        problem = safetensors_problem(path) or (companion(path) if companion else None) or _diverged(step, bad_from)
        if problem is None:
            if point.path is None:
                point.step, point.path = step, path
            continue
        point.skipped.append((path, problem))
        if move_broken:
            point.moved.append((path, set_aside(path)))
    if backend == "ai-toolkit" and move_broken:
        _clear_the_way(plan, Path(run_dir), point)
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


def _builtin_state(lora: Path) -> str | None:
    """The builtin trainer resumes from `<stem>.state.pt` beside the LoRA and silently passes over a bad one."""
    return torch_save_problem(lora.with_name(lora.name.removesuffix(".safetensors") + ".state.pt"))


# What else, per backend, a checkpoint needs to resume exactly from it (sd-scripts' state folders: _sd_state).
COMPANION_CHECKS = {"builtin": _builtin_state}


def _diverged(step: int, bad_from: int | None) -> str | None:
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


def _clear_the_way(plan: Any, run_dir: Path, point: ResumePoint) -> None:
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


def _sd_state(plan: Any, run_dir: Path, bad_from: int | None = None) -> ResumePoint:
    """sd-scripts continues from a `--save_state` folder: `<name>[-stepNNNNNNNN|-NNNNNN]-state` with its
    `train_state.json` ({"current_epoch", "current_step"}) and the LoRA weights (reference sd-scripts.md §5)."""
    out = run_dir / "output"
    name = plan.values["name"]
    found: list[tuple[int, Path]] = []
    skipped: list[tuple[Path, str]] = []
    for folder in sorted(out.glob(f"{name}*-state")) if out.is_dir() else []:
        if not folder.is_dir() or not _SD_STATE_RE.fullmatch(folder.name[len(name):]):
            continue
        step, problem = _sd_state_step(folder)
        problem = problem or _diverged(step, bad_from)
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


def _sd_state_step(folder: Path) -> tuple[int, str | None]:
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
