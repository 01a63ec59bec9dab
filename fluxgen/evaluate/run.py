"""`evaluate`: generate what is missing, score every cell, write RUN/eval/ and recommend."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen import __version__
from fluxgen.evaluate.grid import Grid
from fluxgen.evaluate.recommend import Bounds, recommend, summarize
from fluxgen.evaluate.source import Source, dataset_images
from fluxgen.fsio import atomic_write

EVAL_JSON = "eval.json"


@dataclass
class Outcome:
    path: Path
    data: dict[str, Any]
    generated: int
    reused: int
    seconds_per_cell: float | None


def evaluate(src: Source, grid: Grid, clip: str, dino: str, bounds: Bounds, device: str = "cpu",
             progress: Any = None) -> Outcome:
    """Cells already on disk with the same inputs are reused, so an interrupted evaluation continues."""
    from fluxgen.evaluate.metrics import image_features, load_metric_models
    from fluxgen.trainer.model import quiet_libraries

    quiet_libraries()
    images = dataset_images(src.dataset)
    models = load_metric_models(clip, dino, device)
    data_clip, data_dino = image_features(models, _open(images))
    cells_dir = src.out_dir / "cells"
    cells = grid.cells()
    done, todo = _split_done(grid, cells, cells_dir, models)
    start, generated = time.perf_counter(), 0
    if todo:
        generated = _generate_all(src, grid, todo, cells_dir, models, (data_clip, data_dino), device, progress)
    per_cell = (time.perf_counter() - start) / generated if generated else None
    for cell in cells:
        cell.update(done.get(grid.key(cell)) or {})
    data = _record(src, grid, cells, models, images, bounds, per_cell, generated)
    _write_outputs(src, grid, data)
    return Outcome(src.out_dir / EVAL_JSON, data, generated, len(cells) - generated, per_cell)


def _open(paths: list[Path]) -> list:
    from PIL import Image, ImageOps

    out = []
    for p in paths:
        with Image.open(p) as im:
            out.append(ImageOps.exif_transpose(im).convert("RGB"))
    return out


def _split_done(grid: Grid, cells: list[dict], cells_dir: Path, models: Any) -> tuple[dict, list[dict]]:
    done, todo = {}, []
    for cell in cells:
        key = grid.key(cell)
        record = _read_cell(cells_dir / f"{key}.json")
        if record and record.get("models") == [models.clip_id, models.dino_id] and (cells_dir / f"{key}.png").is_file():
            done[key] = {"file": f"cells/{key}.png", "metrics": record["metrics"]}
        else:
            todo.append(cell)
    return done, todo


def _read_cell(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _generate_all(src: Source, grid: Grid, todo: list[dict], cells_dir: Path, models: Any, data: tuple,
                  device: str, progress: Any) -> int:
    """Checkpoint by checkpoint (one LoRA load each); every finished cell is on disk at once."""
    from fluxgen.evaluate.generate import adapters, generate, load_pipeline, save_png
    from fluxgen.evaluate.metrics import cell_metrics, image_features, text_features

    pipe = load_pipeline(grid.base, device, src.values.get("vram_tier"))
    by_path = {str(c.path): c for c in grid.checkpoints}
    texts = {p: t for p, t in zip(grid.prompts, text_features(models, grid.prompts), strict=True)}
    todo.sort(key=lambda c: (c["checkpoint"] or "", c["strength"]))
    task = progress.add_task("eval", total=len(todo)) if progress else None
    rescored = 0
    with adapters(pipe, grid) as use:
        for cell in todo:
            key = grid.key(cell)
            png = cells_dir / f"{key}.png"
            if png.is_file():  # same inputs, scored by other metric models before: score it again, no generation
                image = _open([png])[0]
                rescored += 1
            else:
                use(by_path.get(cell["checkpoint"]), cell["strength"])
                image = generate(pipe, grid, cell["prompt"], cell["seed"])
                save_png(image, png)
            clip_img, dino_img = image_features(models, [image])
            metrics = cell_metrics(clip_img[0], dino_img[0], texts[cell["prompt"]], *data)
            record = {**cell, "models": [models.clip_id, models.dino_id], "metrics": metrics}
            atomic_write(cells_dir / f"{key}.json", json.dumps(record, indent=1) + "\n", force=True)
            cell.update({"file": f"cells/{key}.png", "metrics": metrics})
            if progress:
                progress.advance(task)
    return len(todo) - rescored


def _record(src: Source, grid: Grid, cells: list[dict], models: Any, images: list[Path], bounds: Bounds,
            per_cell: float | None, generated: int) -> dict[str, Any]:
    rows = summarize(cells)
    return {
        "fluxgen_version": __version__,
        "name": src.name,
        "run": str(src.run_dir) if src.run_dir else None,
        "grid": grid.describe(),
        "metric_models": {"clip": models.clip_id, "dino": models.dino_id},
        "dataset": {"path": str(src.dataset), "images": len(images)},
        "cells": cells,
        "summary": rows,
        "recommendation": recommend(rows, bounds),
        "timing": {"generated": generated, "reused": len(cells) - generated,
                   "seconds_per_cell": round(per_cell, 3) if per_cell else None},
    }


def _write_outputs(src: Source, grid: Grid, data: dict[str, Any]) -> None:
    """Sheets (first seed), the curves and eval.json, each replaced whole."""
    from fluxgen.evaluate.sheets import contact_sheet, curves_png

    by_key = {(c["checkpoint"], c["prompt"], c["strength"], c["seed"]): c for c in data["cells"]}
    side = max(96, min(256, grid.size))
    sheets = []
    for index, prompt in enumerate(grid.prompts):
        rows = []
        for ck in grid.checkpoints:
            paths = []
            for st in grid.strengths:
                cell = by_key.get((None if st == 0.0 else str(ck.path), prompt, st, grid.seeds[0]))
                paths.append(src.out_dir / cell["file"] if cell and cell.get("file") else None)
            rows.append((ck.label, paths))
        name = f"sheet-{index + 1:02d}.png"
        atomic_write(src.out_dir / name, contact_sheet(rows, grid.strengths, side), force=True)
        sheets.append({"prompt": prompt, "file": name})
    data["sheets"] = sheets
    strength = min((s for s in grid.strengths if s), key=lambda s: abs(s - 1.0), default=1.0)
    atomic_write(src.out_dir / "curves.png", curves_png(data["summary"], strength), force=True)
    data["curves"] = {"file": "curves.png", "strength": strength}
    atomic_write(src.out_dir / EVAL_JSON, json.dumps(data, indent=2, ensure_ascii=False) + "\n", force=True)
