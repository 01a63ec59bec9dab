"""Fixtures for the validator tests: clean minimal configs to mutate, the real captures, a finding matcher."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).parents[2].parent / "shared"

# A complete ai-toolkit FLUX LoRA job that validates without a single finding.
AITK_BASE: dict[str, Any] = {
    "job": "extension",
    "config": {"name": "my_lora", "process": [{
        "type": "sd_trainer",
        "training_folder": "output",
        "trigger_word": "p3r5on",
        "network": {"type": "lora", "linear": 16, "linear_alpha": 16},
        "save": {"dtype": "float16", "save_every": 250, "max_step_saves_to_keep": 4},
        "datasets": [{"folder_path": "/data/images", "caption_ext": "txt", "caption_dropout_rate": 0.05,
                      "resolution": [512, 768, 1024]}],
        "train": {"batch_size": 1, "steps": 2000, "gradient_accumulation_steps": 1, "optimizer": "adamw8bit",
                  "lr": 1e-4, "noise_scheduler": "flowmatch", "dtype": "bf16",
                  "ema_config": {"use_ema": True, "ema_decay": 0.99}},
        "model": {"name_or_path": "black-forest-labs/FLUX.1-dev", "is_flux": True, "quantize": True},
        "sample": {"sampler": "flowmatch", "sample_every": 250, "width": 1024, "height": 1024,
                   "prompts": ["[trigger] holding a sign"], "neg": "", "seed": 42, "walk_seed": True,
                   "guidance_scale": 4, "sample_steps": 20},
    }]},
    "meta": {"name": "[name]", "version": "1.0"},
}

# sd-scripts options (args TOML, flat) for a FLUX.1-dev LoRA that validate without a single finding.
SD_BASE: dict[str, Any] = {
    "pretrained_model_name_or_path": "flux1-dev.safetensors", "clip_l": "clip_l.safetensors",
    "t5xxl": "t5xxl_fp16.safetensors", "ae": "ae.safetensors", "dataset_config": "dataset.toml",
    "network_module": "networks.lora_flux", "network_dim": 16, "network_alpha": 16.0,
    "network_train_unet_only": True, "optimizer_type": "adamw8bit", "learning_rate": 1e-4,
    "max_train_steps": 1000, "mixed_precision": "bf16", "guidance_scale": 1.0, "timestep_sampling": "shift",
    "model_prediction_type": "raw", "output_dir": "out", "output_name": "lora",
}

# A dataset TOML that validates without a single finding.
DATASET_BASE: dict[str, Any] = {
    "general": {"caption_extension": ".txt", "shuffle_caption": False, "keep_tokens": 1},
    "datasets": [{"resolution": 1024, "batch_size": 1, "enable_bucket": True, "bucket_reso_steps": 64,
                  "subsets": [{"image_dir": "/data/images", "class_tokens": "ohwx person", "num_repeats": 2}]}],
}

DELETE = object()
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def mutate(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Deep copy with dotted paths (`config.process[0].train.lr`) set, or removed when the value is DELETE."""
    data = copy.deepcopy(base)
    for path, value in changes.items():
        steps = [int(i) if i else k for k, i in _STEP.findall(path)]
        node = data
        for step in steps[:-1]:
            node = node[step]
        if value is DELETE:
            del node[steps[-1]]
        else:
            node[steps[-1]] = value
    return data


def assert_finding(report: Any, severity: str, path: str, match: str) -> None:
    """Exactly one kind of finding at `path` with that severity whose message matches `match`."""
    hits = [f for f in report.findings if f.severity == severity and f.path == path and re.search(match, f.message)]
    assert hits, f"no {severity} at {path} matching {match!r}; got:\n" + "\n".join(report.lines())


@pytest.fixture
def aitk() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The clean ai-toolkit job with some dotted paths changed (DELETE removes a key)."""
    return lambda changes=None: mutate(AITK_BASE, changes or {})


@pytest.fixture
def sd() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The clean sd-scripts options with some keys changed (DELETE removes a key)."""
    return lambda changes=None: mutate(SD_BASE, changes or {})


@pytest.fixture
def dataset() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The clean dataset TOML with some dotted paths changed (DELETE removes a key)."""
    return lambda changes=None: mutate(DATASET_BASE, changes or {})


@pytest.fixture
def expect() -> Callable[[Any, str, str, str], None]:
    return assert_finding


@pytest.fixture
def delete() -> object:
    return DELETE


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"the shared captures are not present at {SHARED}")
    return SHARED
