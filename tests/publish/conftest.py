"""A recorded run folder with an evaluation, made from fixed files (no model needed), for the publish tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lora.lora_builders import small_peft_lora


def _png(path: Path, colour: tuple[int, int, int]) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), colour).save(path)


@pytest.fixture
def published_run(tmp_path: Path) -> Path:
    from fluxgen.evaluate.recommend import Bounds, recommend

    run = tmp_path / "runs" / "skull-20261206-120000"
    (run / "output").mkdir(parents=True)
    small_peft_lora(run / "output" / "skull_000000250.safetensors", seed=1)
    small_peft_lora(run / "output" / "skull.safetensors", seed=2)
    values = {"name": "skull", "kind": "subject", "trigger": "CSKULL", "backend": "ai-toolkit",
              "base_model": "black-forest-labs/FLUX.1-dev", "base_model_kind": "hub", "dataset": "/home/me/skull",
              "rank": 32, "alpha": 32.0, "steps": 500, "lr": 0.0001, "sample_seed": 42}
    origins = {"rank": "rule: subject rank 32 (seed:000)", "alpha": "rule: alpha = rank (design card, seed:000)",
               "steps": "--steps on the command line", "dataset": "--images /home/me/skull",
               "lr": "rule: 1e-4 (seed:000) | the guides' default"}
    (run / "plan.json").write_text(json.dumps({"values": values, "origins": origins, "hash": "sha256:0"}))
    (run / "intent.yaml").write_text("extends: cyber-skull\ntrigger: CSKULL\n")
    samples = [{"step": 500, "index": 0, "path": "output/samples/000000500_0.png", "prompt": "a CSKULL"}]
    _png(run / samples[0]["path"], (10, 20, 30))
    manifest = {"status": "completed", "checkpoints": [{"step": 250, "path": "output/skull_000000250.safetensors"}],
                "final_lora": "output/skull.safetensors", "samples": samples}
    (run / "manifest.json").write_text(json.dumps(manifest))
    _evaluation(run, recommend, Bounds)
    return run


def _evaluation(run: Path, recommend, bounds) -> None:
    """eval.json as `fluxgen eval` writes it, for two prompts at step 250, strength 1.0 and the base."""
    ck = str(run / "output" / "skull_000000250.safetensors")
    cells = []
    for i, prompt in enumerate(["A watercolor painting of CSKULL", 'CSKULL "quoted" | piped: yes']):
        for strength, colour in ((0.0, (90, 90, 90)), (1.0, (200, 40 * i, 40))):
            file = f"cells/{i}-{strength}.png"
            _png(run / "eval" / file, colour)
            metrics = {"clip_t": 0.30 - strength * 0.01, "clip_i": 0.6 + strength * 0.1,
                       "dino": 0.5 + strength * 0.2, "copy": 0.7 + strength * 0.1}
            cells.append({"step": 250 if strength else None, "checkpoint": ck if strength else None,
                          "prompt": prompt, "strength": strength, "seed": 42, "file": file, "metrics": metrics})
    from fluxgen.evaluate.recommend import summarize

    summary = summarize(cells)
    _png(run / "eval" / "sheet-01.png", (1, 2, 3))
    data = {"run": str(run), "grid": {"seeds": [42]}, "metric_models": {"clip": "c", "dino": "d"}, "cells": cells,
            "summary": summary, "recommendation": recommend(summary, bounds()),
            "sheets": [{"prompt": "A watercolor painting of CSKULL", "file": "sheet-01.png"}]}
    (run / "eval" / "eval.json").write_text(json.dumps(data))
