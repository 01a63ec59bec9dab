"""Latents and text embeddings, computed once before training (kept in memory, optionally on disk)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen.trainer.console import Console
from fluxgen.trainer.data import Item, load_square
from fluxgen.trainer.model import load_text_pipeline

ENCODE_BATCH = 8


@dataclass
class TextCache:
    """Embeddings of every distinct text the run needs: captions, the empty caption, sample prompts."""

    index: dict[str, int]
    embeds: Any  # (texts, seq, dim)
    pooled: Any  # (texts, dim)

    def rows(self, texts: list[str]) -> tuple[Any, Any]:
        ids = [self.index[t] for t in texts]
        return self.embeds[ids], self.pooled[ids]


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_cached(path: Path | None, key: str) -> Any:
    """A disk cache entry, or None when absent, unreadable or made for other inputs."""
    import torch

    if path is None or not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None
    return data if isinstance(data, dict) and data.get("key") == key else None


def _store(path: Path | None, data: dict[str, Any]) -> None:
    import torch

    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(data, tmp)
    tmp.replace(path)


def cache_latents(
    items: list[Item], size: int, vae: Any, source: str, console: Console, cache_dir: Path | None
) -> Any:
    """Encode every image once with the VAE (distribution mode), normalised as the transformer expects."""
    import torch

    key = _digest([source, str(size)] + [f"{i.image.name}:{_file_digest(i.image)}" for i in items])
    path = cache_dir / f"latents-{key}.pt" if cache_dir else None
    cached = _load_cached(path, key)
    note = " (from disk cache)" if cached else ""
    console.phase("caching latents", f"{len(items)} images at {size}x{size}{note}")
    if cached:
        return cached["latents"].to(vae.device, vae.dtype)
    shift = vae.config.shift_factor or 0.0
    scale = vae.config.scaling_factor
    chunks = []
    with torch.no_grad():
        for start in range(0, len(items), ENCODE_BATCH):
            pixels = torch.stack([load_square(i.image, size) for i in items[start : start + ENCODE_BATCH]])
            latent = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist.mode()
            chunks.append((latent - shift) * scale)
    latents = torch.cat(chunks)
    _store(path, {"key": key, "latents": latents.cpu()})
    return latents


def cache_texts(
    texts: list[str], source: str, dtype: Any, device: str, max_length: int, console: Console, cache_dir: Path | None
) -> TextCache:
    """Encode each distinct text once; the text encoders are loaded only when the disk cache misses."""
    import torch

    unique = sorted(set(texts))
    key = _digest([source, str(max_length), json.dumps(unique, ensure_ascii=False)])
    path = cache_dir / f"text-{key}.pt" if cache_dir else None
    cached = _load_cached(path, key)
    note = " (from disk cache)" if cached else ""
    console.phase("caching text embeddings", f"{len(unique)} distinct texts{note}")
    if cached:
        embeds, pooled = cached["embeds"], cached["pooled"]
    else:
        pipe = load_text_pipeline(source, dtype, device)
        embeds_parts, pooled_parts = [], []
        with torch.no_grad():
            for start in range(0, len(unique), ENCODE_BATCH):
                batch = unique[start : start + ENCODE_BATCH]
                e, p, _ = pipe.encode_prompt(prompt=batch, prompt_2=None, device=device, max_sequence_length=max_length)
                embeds_parts.append(e)
                pooled_parts.append(p)
        del pipe
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        embeds, pooled = torch.cat(embeds_parts), torch.cat(pooled_parts)
        _store(path, {"key": key, "embeds": embeds.cpu(), "pooled": pooled.cpu()})
    return TextCache(
        index={t: i for i, t in enumerate(unique)},
        embeds=embeds.to(device, dtype),
        pooled=pooled.to(device, dtype),
    )
