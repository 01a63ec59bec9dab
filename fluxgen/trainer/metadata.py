"""The safetensors metadata of every saved LoRA: the config's `metadata` mapping plus what the trainer knows."""

from __future__ import annotations

import json

from fluxgen import __version__
from fluxgen.trainer.config import TrainerConfig


def _text(value: object) -> str:
    """safetensors metadata holds strings only; other values are stored as JSON (dates as their ISO text)."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def lora_metadata(cfg: TrainerConfig, step: int, image_count: int, base_model: str) -> dict[str, str]:
    """User keys first, then the trainer's `fluxgen.*` facts, which win on a clash because they are measured."""
    import diffusers
    import peft
    import torch

    known: dict[str, object] = {
        "format": "pt",
        "fluxgen.trainer": "builtin",
        "fluxgen.trainer_version": __version__,
        "fluxgen.base_model": base_model,
        "fluxgen.step": step,
        "fluxgen.total_steps": cfg.train.steps,
        "fluxgen.rank": cfg.network.rank,
        "fluxgen.alpha": cfg.alpha,
        "fluxgen.lora_B_scaled_by": cfg.alpha / cfg.network.rank,
        "fluxgen.resolution": cfg.resolution,
        "fluxgen.batch_size": cfg.train.batch_size,
        "fluxgen.lr": cfg.train.lr,
        "fluxgen.optimizer": cfg.train.optimizer,
        "fluxgen.lr_scheduler": cfg.train.lr_scheduler,
        "fluxgen.timestep_sampling": cfg.train.timestep_sampling,
        "fluxgen.guidance": cfg.train.guidance,
        "fluxgen.seed": cfg.train.seed,
        "fluxgen.caption_mode": cfg.dataset.caption_mode,
        "fluxgen.num_images": image_count,
        "fluxgen.versions": {"torch": torch.__version__, "diffusers": diffusers.__version__, "peft": peft.__version__},
    }
    if cfg.dataset.trigger:
        known["fluxgen.trigger"] = cfg.dataset.trigger
    merged = {key: _text(value) for key, value in cfg.metadata.items()}
    merged.update({key: _text(value) for key, value in known.items()})
    return merged
