"""The metric models: CLIP (text–image and image–image similarity) and DINO (image–image), loaded offline.

These are the measures the subject-driven generation literature uses (DreamBooth, Ruiz et al., CVPR 2023):
CLIP-T for prompt fidelity, CLIP-I and DINO for subject fidelity; DINO separates instances of one class better,
so fidelity and the copy score are read from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError

DEFAULT_CLIP = "openai/clip-vit-large-patch14"
DEFAULT_DINO = "facebook/dinov2-small"
METRICS = ("clip_t", "clip_i", "dino", "copy")


@dataclass
class MetricModels:
    clip_id: str
    dino_id: str
    clip: Any
    clip_processor: Any
    dino: Any
    dino_processor: Any
    device: str


def _load(kind: str, ident: str, loader) -> Any:
    """A local folder or a hub id already in the cache: evaluation never downloads on its own."""
    local = Path(ident).expanduser()
    source = str(local) if local.exists() else ident
    try:
        return loader(source)
    except OSError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if local.exists():
            raise UserError(f"{ident}: cannot load the {kind} model from this folder ({first})") from None
        raise UserError(f"{ident}: the {kind} model is not in the Hugging Face cache; download it once with "
                        f"`hf download {ident}` or pass --{kind.lower()} with a local folder") from None


def load_metric_models(clip_id: str, dino_id: str, device: str = "cpu") -> MetricModels:
    from transformers import AutoImageProcessor, AutoModel, CLIPModel, CLIPProcessor

    def clip(src):
        return CLIPModel.from_pretrained(src, local_files_only=True), CLIPProcessor.from_pretrained(
            src, local_files_only=True)

    def dino(src):
        return AutoModel.from_pretrained(src, local_files_only=True), AutoImageProcessor.from_pretrained(
            src, local_files_only=True)

    clip_model, clip_proc = _load("CLIP", clip_id, clip)
    dino_model, dino_proc = _load("DINO", dino_id, dino)
    return MetricModels(clip_id, dino_id, clip_model.to(device).eval(), clip_proc,
                        dino_model.to(device).eval(), dino_proc, device)


def _unit(x: Any) -> Any:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def image_features(models: MetricModels, images: list) -> tuple[Any, Any]:
    """(CLIP, DINO) unit embeddings of PIL images, one row each."""
    import torch

    with torch.no_grad():
        clip_in = models.clip_processor(images=images, return_tensors="pt").to(models.device)
        clip = models.clip.get_image_features(**clip_in)
        clip = clip if torch.is_tensor(clip) else clip.pooler_output
        dino_in = models.dino_processor(images=images, return_tensors="pt").to(models.device)
        dino = models.dino(**dino_in).last_hidden_state[:, 0]  # the CLS token, as DINO similarity uses
    return _unit(clip.float().cpu()), _unit(dino.float().cpu())


def text_features(models: MetricModels, texts: list[str]) -> Any:
    import torch

    with torch.no_grad():
        tokens = models.clip_processor(text=texts, return_tensors="pt", padding=True, truncation=True)
        feats = models.clip.get_text_features(**tokens.to(models.device))
        feats = feats if torch.is_tensor(feats) else feats.pooler_output
    return _unit(feats.float().cpu())


def cell_metrics(clip_img: Any, dino_img: Any, text: Any, data_clip: Any, data_dino: Any) -> dict[str, float]:
    """clip_t: image–prompt; clip_i, dino: mean similarity to the training images; copy: the closest one (DINO)."""
    dino_sims = data_dino @ dino_img
    return {
        "clip_t": round(float(clip_img @ text), 6),
        "clip_i": round(float((data_clip @ clip_img).mean()), 6),
        "dino": round(float(dino_sims.mean()), 6),
        "copy": round(float(dino_sims.max()), 6),
    }
