"""Builders for report and LoRA tests: run folders (completed with samples and checkpoints, failed) and tiny
LoRA files in each key format, all made on the spot."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
from PIL import Image
from safetensors.numpy import save_file

HOSTILE_NAME = 'skull <b>bold</b> & "quotes" \'single\' 🦴'
HOSTILE_TRIGGER = "sk<u>ll & co 💀"
HOSTILE_WARNING = "<script>alert(1)</script> learning rate is high"
PROMPTS = ["[trigger] <img src=x onerror=alert(1)> on a table", "a watercolor [trigger] & a cat 🐈", "35mm photo"]


def peft_lora(path: Path, rank: int = 4, double: int = 2, single: int = 1, metadata: dict | None = None) -> Path:
    """A tiny peft/diffusers FLUX LoRA: `transformer.` keys, lora_A/lora_B, no alpha tensors."""
    tensors = {}
    subs = {"double": ["attn.to_q", "attn.to_k", "attn.to_v", "ff.net.2"], "single": ["attn.to_q", "proj_out"]}
    for kind, count, prefix in (("double", double, "transformer_blocks"), ("single", single,
                                                                          "single_transformer_blocks")):
        for b in range(count):
            for sub in subs[kind]:
                key = f"transformer.{prefix}.{b}.{sub}"
                tensors[f"{key}.lora_A.weight"] = np.zeros((rank, 32), np.float16)
                tensors[f"{key}.lora_B.weight"] = np.zeros((32, rank), np.float16)
    save_file(tensors, str(path), metadata=metadata)
    return path


def kohya_lora(path: Path, rank: int = 8, alpha: float = 4.0, te: bool = False, metadata: dict | None = None,
               dtype=np.float32) -> Path:
    """A tiny kohya (sd-scripts) FLUX LoRA: lora_unet_ keys, lora_down/lora_up and an .alpha per module."""
    modules = [f"lora_unet_double_blocks_{b}_{s}" for b in range(3) for s in ("img_attn_qkv", "txt_mlp_0")]
    modules += [f"lora_unet_single_blocks_{b}_linear1" for b in range(2)]
    if te:
        modules += [f"lora_te1_text_model_encoder_layers_{i}_self_attn_q_proj" for i in range(2)]
    tensors = {}
    for m in modules:
        tensors[f"{m}.lora_down.weight"] = np.zeros((rank, 16), dtype)
        tensors[f"{m}.lora_up.weight"] = np.zeros((16, rank), dtype)
        tensors[f"{m}.alpha"] = np.array(alpha, dtype)
    save_file(tensors, str(path), metadata=metadata)
    return path


def _losses(n: int) -> list[float]:
    rng = random.Random(7)
    return [0.25 + 0.3 * math.exp(-i / (n / 4)) + rng.uniform(-0.08, 0.08) for i in range(n)]


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _plan(steps: int) -> dict:
    values = {"name": HOSTILE_NAME, "kind": "subject", "backend": "ai-toolkit", "trigger": HOSTILE_TRIGGER,
              "images": 20, "steps": steps, "rank": 32, "alpha": 32, "lr": 0.0001, "save_every": 50,
              "resolution": [512, 768, 1024], "batch_size": 1, "dataset": "/data/my <images>"}
    origins = {k: "built-in default" for k in values}
    origins.update(steps="100 steps × 20 images ← seed:000", rank="kind preset subject ← seed:000",
                   lr="--set lr=1e-4 on the command line")
    return {"values": values, "origins": origins, "hash": "sha256:" + "ab" * 32,
            "warnings": [{"message": HOSTILE_WARNING, "origin": "rule lr_range ← seed:003"}]}


def _manifest(status: str, **extra) -> dict:
    base = {"fluxgen_version": "0.1.0", "backend": "ai-toolkit", "trainer": {"pin": "27a03a91", "commit": "27a03a91"},
            "python": "3.11.9", "packages": {"torch": "2.13.0"}, "gpu": None,
            "dataset": {"path": "/data/my <images>", "fingerprint": "sha256:" + "cd" * 32, "images": 20},
            "files": {}, "started": "2026-01-02T10:00:00+00:00", "ended": "2026-01-02T10:42:30+00:00",
            "exit_code": 0, "status": status, "diagnosis": None, "checkpoints": [], "final_lora": None,
            "samples": [], "attempts": []}
    base.update(extra)
    return base


def build_completed(run: Path, steps: int = 200, sample_steps: tuple[int, ...] = (0, 50, 100, 150, 200)) -> Path:
    run.mkdir(parents=True)
    (run / "intent.yaml").write_text("kind: subject\n", encoding="utf-8")
    _write_json(run / "plan.json", _plan(steps))
    _write_json(run / "command.json", {"argv": ["python", "run.py", "config with space.yaml"],
                                       "env": {"PYTHONUNBUFFERED": "1", "HF_TOKEN": "<redacted>"},
                                       "cwd": "/opt/ai-toolkit"})
    losses = _losses(steps)
    lines = ["step,loss,lr,seconds_per_it,time"] + [f"{i + 1},{v:.5f},0.0001,1.5,{i * 1.5:.1f}"
                                                     for i, v in enumerate(losses)]
    (run / "metrics.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (run / "train.log").write_text("loading\nstep 1\r step 2\ndone\n", encoding="utf-8")
    _write_json(run / "dataset-lint.json", {"findings": [
        {"severity": "warning", "code": "caption_missing", "message": "no caption for <a>.png", "path": "a.png"},
        {"severity": "info", "code": "small", "message": "image is 512 px", "path": "b.png"}],
        "summary": {"images": 20, "captioned": 19}})
    (run / "output").mkdir()
    checkpoints = []
    for step in (50, 100, 150):
        lora = peft_lora(run / "output" / f"lora_{step:09d}.safetensors", metadata={"fluxgen.trigger": "x"})
        checkpoints.append({"step": step, "path": str(lora.relative_to(run))})
    final = peft_lora(run / "output" / "lora.safetensors", metadata={
        "fluxgen.trigger": HOSTILE_TRIGGER, "fluxgen.base_model": "black-forest-labs/FLUX.1-dev",
        "fluxgen.steps": str(steps), "fluxgen.rank": "4", "fluxgen.alpha": "4"})
    samples = []
    (run / "samples").mkdir()
    for step in sample_steps:
        for index, prompt in enumerate(PROMPTS):
            path = run / "samples" / f"{step:09d}_{index}.jpg"
            Image.new("RGB", (512, 512), (40 + index * 80, 120, min(255, step))).save(path, quality=90)
            samples.append({"step": step, "index": index, "path": f"samples/{path.name}", "prompt": prompt})
    _write_json(run / "manifest.json", _manifest("completed", checkpoints=checkpoints, samples=samples,
                                                 final_lora=str(final.relative_to(run))))
    return run


def build_failed(run: Path) -> Path:
    run.mkdir(parents=True)
    _write_json(run / "plan.json", _plan(200))
    _write_json(run / "command.json", {"argv": ["python", "run.py", "config.yaml"], "env": {}, "cwd": "/opt"})
    events = [{"type": "progress", "step": i, "total": 200, "loss": 0.5 - i / 100, "seconds_per_it": 2.0}
              for i in range(1, 6)]
    text = "\n".join(json.dumps(e) for e in events) + '\n{"type": "progr'  # killed mid-line
    (run / "events.jsonl").write_text(text, encoding="utf-8")
    (run / "train.log").write_text("step 5\ntorch.OutOfMemoryError: CUDA out of memory <GPU 0>\n", encoding="utf-8")
    diagnosis = {"code": "out_of_memory", "message": "The GPU ran out of memory at step 5 <rank 128>.",
                 "fix": "Lower the rank or pass --set quantize=true & retry."}
    _write_json(run / "manifest.json", _manifest("failed", exit_code=1, diagnosis=diagnosis))
    return run
