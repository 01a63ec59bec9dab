"""The metadata the rendered configs make a trainer write reads back through `fluxgen lora inspect`."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import yaml
from safetensors.numpy import save_file

from fluxgen.lora import inspect_lora
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan


def _peft_tensors(rank: int) -> dict[str, np.ndarray]:
    base = "transformer.transformer_blocks.0.attn.to_q"
    return {f"{base}.lora_A.weight": np.zeros((rank, 8), np.float16),
            f"{base}.lora_B.weight": np.zeros((8, rank), np.float16)}


def _kohya_tensors(rank: int) -> dict[str, np.ndarray]:
    base = "lora_unet_double_blocks_0_img_attn_qkv"
    return {f"{base}.lora_down.weight": np.zeros((rank, 8), np.float16),
            f"{base}.lora_up.weight": np.zeros((24, rank), np.float16),
            f"{base}.alpha": np.array(float(rank), np.float16)}


def test_ai_toolkit_meta_section_reads_back(tmp_path: Path, skull20: Path) -> None:
    plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), backend="ai-toolkit"))
    meta = yaml.safe_load(render_plan(plan)["config.yaml"])["meta"]
    # ai-toolkit copies every `meta:` key into the LoRA file's metadata, non-strings JSON-encoded (ref §7).
    metadata = {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}
    metadata["training_info"] = json.dumps({"step": 2000, "epoch": 0})
    path = tmp_path / "aitk.safetensors"
    save_file(_peft_tensors(32), str(path), metadata=metadata)
    info = inspect_lora(path).to_dict()
    assert info["trigger"] == "CSKULL" and info["steps"] == 2000
    assert info["fluxgen"]["plan_hash"] == plan.hash
    assert not any("no base model" in w for w in info["warnings"])


def test_sd_scripts_training_comment_reads_back(tmp_path: Path, skull20: Path) -> None:
    plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), backend="sd-scripts"))
    args = tomllib.loads(render_plan(plan)["args.toml"])
    # sd-scripts stores --training_comment as ss_training_comment and --metadata_* as modelspec.* (ref §5).
    metadata = {"ss_training_comment": args["metadata"]["training_comment"],
                "modelspec.trigger_phrase": args["metadata"]["metadata_trigger_phrase"],
                "modelspec.title": args["metadata"]["metadata_title"], "ss_steps": "2000"}
    path = tmp_path / "kohya.safetensors"
    save_file(_kohya_tensors(32), str(path), metadata=metadata)
    info = inspect_lora(path).to_dict()
    assert info["fluxgen"]["plan_hash"] == plan.hash and info["fluxgen"]["trigger"] == "CSKULL"
    assert info["base_model"] == "dev"
    assert not any(key.startswith("fluxgen.") for key in info["fluxgen"])
