"""Inspect FLUX.1 LoRA safetensors files (peft/diffusers and kohya keys) from their header alone."""

from __future__ import annotations

from fluxgen.lora.info import LoraInfo, inspect_lora

__all__ = ["LoraInfo", "inspect_lora"]
