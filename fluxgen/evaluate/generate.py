"""Generating the grid with diffusers' FluxPipeline: one LoRA adapter per checkpoint, strengths via adapter weights."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.evaluate.grid import Grid

SMALL_MODEL_PARAMS = 50_000_000  # below this, one CPU thread is faster: the ops are too small to split
OFFLOAD_BELOW_GB = 48  # FLUX.1-dev in bf16 with both text encoders needs ~33 GB resident; tiers below offload


def load_pipeline(base: str, device: str, vram_tier: int | None) -> Any:
    """bf16 on a GPU (CPU offload when the plan's VRAM tier is below 48 GB), fp32 on a CPU."""
    import torch
    from diffusers import FluxPipeline

    from fluxgen.trainer.model import model_source
    source = model_source(base)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    try:
        pipe = FluxPipeline.from_pretrained(source, dtype=dtype, local_files_only=True)
    except OSError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"{base}: cannot load the base model offline ({first}); download it once with "
                        f"`hf download {base}` or pass --base with a local diffusers folder") from None
    pipe.set_progress_bar_config(disable=True)
    if device == "cpu" and sum(p.numel() for p in pipe.transformer.parameters()) < SMALL_MODEL_PARAMS:
        torch.set_num_threads(1)  # measured: 0.2 s instead of 2-4 s per tiny-model image on a shared 2-core CPU
    if device == "cuda" and vram_tier is not None and vram_tier < OFFLOAD_BELOW_GB:
        pipe.enable_model_cpu_offload()
    else:
        pipe.to(device)
    return pipe


@contextlib.contextmanager
def adapters(pipe: Any, grid: Grid) -> Iterator[Callable[[Any, float], None]]:
    """Load the stacked LoRAs once; yield `use(checkpoint, strength)` that switches the active adapters."""
    import warnings

    from fluxgen.lora.export import diffusers_state_dict

    # several adapters on one transformer is the point here (stacking), not the mistake peft warns about
    warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute")
    extra_names = []
    for i, extra in enumerate(grid.extras):
        name = f"with{i}"
        pipe.load_lora_weights(diffusers_state_dict(extra.path), adapter_name=name)
        extra_names.append(name)
    loaded: dict[str, str] = {}

    def use(ck: Any, strength: float) -> None:
        names, weights = list(extra_names), [e.weight for e in grid.extras]
        if ck is not None and strength != 0.0:
            key = str(ck.path)
            if key not in loaded:
                for old in list(loaded.values()):  # one checkpoint in memory at a time
                    pipe.delete_adapters(old)
                loaded.clear()
                loaded[key] = f"ck{len(loaded)}_{abs(hash(key)) % 10**8}"
                pipe.load_lora_weights(diffusers_state_dict(ck.path), adapter_name=loaded[key])
            names.append(loaded[key])
            weights.append(strength)
        if names:
            pipe.enable_lora()
            pipe.set_adapters(names, weights)
        elif loaded or extra_names:
            pipe.disable_lora()

    yield use


def generate(pipe: Any, grid: Grid, prompt: str, seed: int) -> Any:
    import torch

    generator = torch.Generator(device="cpu").manual_seed(seed)
    return pipe(prompt, height=grid.size, width=grid.size, num_inference_steps=grid.steps,
                guidance_scale=grid.guidance, generator=generator, max_sequence_length=_max_len(pipe)).images[0]


def _max_len(pipe: Any) -> int:
    """T5's sequence length: 512 on FLUX.1-dev; the tokenizer's own limit when it is smaller (the tiny model)."""
    limit = getattr(pipe.tokenizer_2, "model_max_length", 512) or 512
    return int(min(512, limit))


def save_png(image: Any, path: Path) -> None:
    import io

    from fluxgen.fsio import atomic_write

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write(path, buffer.getvalue(), force=True)
