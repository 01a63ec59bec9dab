"""Sample images during training, from prompt embeddings cached before the text encoders were freed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fluxgen.trainer.cache import TextCache
from fluxgen.trainer.config import SampleSection
from fluxgen.trainer.console import Console


def sample_path(output_dir: Path, step: int, index: int) -> Path:
    return output_dir / "samples" / f"{step:09d}_{index}.png"


def make_sampler(transformer: Any, vae: Any, scheduler: Any):
    """A FluxPipeline without text encoders: prompts arrive as cached embeddings."""
    from diffusers import FluxPipeline

    pipe = FluxPipeline(
        scheduler=scheduler, vae=vae, transformer=transformer,
        text_encoder=None, tokenizer=None, text_encoder_2=None, tokenizer_2=None,
    )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe


def save_samples(
    pipe: Any, texts: TextCache, prompts: list[str], section: SampleSection, size: int, step: int,
    output_dir: Path, console: Console,
) -> list[Path]:  # fmt: skip
    """One PNG per prompt, all from the same seed so samples of different steps compare like for like."""
    import torch

    console.phase("sampling", f"step {step}, {len(prompts)} prompts at {size}x{size}")
    transformer = pipe.transformer
    transformer.eval()
    paths = []
    try:
        for index, prompt in enumerate(prompts):
            embeds, pooled = texts.rows([prompt])
            generator = torch.Generator(device="cpu").manual_seed(section.seed)
            image = pipe(
                prompt_embeds=embeds, pooled_prompt_embeds=pooled, height=size, width=size,
                num_inference_steps=section.steps, guidance_scale=section.guidance, generator=generator,
            ).images[0]  # fmt: skip
            path = sample_path(output_dir, step, index)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            image.save(tmp, format="PNG")
            os.replace(tmp, path)
            console.sample(step, path)
            paths.append(path)
    finally:
        transformer.train()
    return paths
