"""Where an evaluation's inputs come from: a run folder (its plan and checkpoints) or a bare LoRA file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.evaluate.grid import Checkpoint

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})


@dataclass
class Source:
    """What the grid needs, each default with its origin."""

    name: str
    out_dir: Path
    run_dir: Path | None
    checkpoints: list[Checkpoint]
    base: str | None
    dataset: Path | None
    trigger: str | None
    kind: str
    values: dict[str, Any] = field(default_factory=dict)


def from_run(run_dir: Path) -> Source:
    from fluxgen.report.run import load_run, resolve

    run = load_run(run_dir)
    values = run.values
    cks = []
    for c in run.checkpoints:
        path = resolve(run.dir, c["path"])
        step = c["step"] if c["step"] is not None else run.planned_steps
        if path.is_file() and all(k.path != path for k in cks):
            cks.append(Checkpoint(step, path))
    cks.sort(key=lambda c: (c.step is None, c.step or 0))
    deduped: dict[int | None, Checkpoint] = {}
    for ck in cks:  # the final LoRA and the last step checkpoint share a step: keep the final file
        deduped[ck.step] = ck
    dataset = values.get("dataset")
    return Source(values.get("name") or run.dir.name, run.dir / "eval", run.dir, list(deduped.values()),
                  values.get("base_model"), Path(dataset) if dataset else None, values.get("trigger"),
                  values.get("kind") or "subject", values)


def from_file(path: Path, out: Path | None) -> Source:
    from fluxgen.lora import inspect_lora

    info = inspect_lora(path)
    if info.format not in ("peft/diffusers", "kohya"):
        raise UserError(f"{path}: not a LoRA fluxgen can load ({info.format} keys); see `fluxgen lora inspect`")
    stem = path.name.removesuffix(".safetensors")
    # only fluxgen records a loadable base (a folder or hub id); ss_sd_model_name and modelspec name a family
    base = info.base_model if info.sources.get("base_model") == "fluxgen.base_model" else None
    return Source(stem, out or path.with_name(f"{stem}-eval"), None, [Checkpoint(info.steps, path)],
                  base, None, info.trigger, "subject")


def dataset_images(folder: Path | None) -> list[Path]:
    if folder is None:
        raise UserError("no training images to compare with; pass --images DIR (fidelity and the copy score "
                        "are similarities to them)")
    if not folder.is_dir():
        raise UserError(f"{folder}: the training images folder is gone; pass --images DIR")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise UserError(f"{folder}: no images (jpg, png, webp, bmp); pass --images DIR")
    return images
