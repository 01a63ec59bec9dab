"""Subject masks from a text-prompted segmentation model (CLIPSeg: the prompt names the subject)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fluxgen.dataset.captioners.base import (
    ProcessorModel,
    load_pretrained,
    resolve_device,
    resolve_dtype,
    revision_of,
)


@dataclass
class ClipSegSegmenter(ProcessorModel):
    threshold: float

    def masks(self, images: list[Any]) -> list[Any]:
        """One mask per picture at its own size: white where the subject is likely, black elsewhere."""
        import torch
        from PIL import Image

        inputs = self.processor(text=[self.prompt or "the main subject"] * len(images), images=images,
                                return_tensors="pt", padding=True)
        inputs = {k: (v.to(self.device, self.dtype) if v.is_floating_point() else v.to(self.device))
                  for k, v in inputs.items()}
        with torch.inference_mode():
            logits = self.model(**inputs).logits
        if logits.dim() == 2:
            logits = logits.unsqueeze(0)
        probs = torch.sigmoid(logits.float()).cpu().numpy()
        out = []
        for image, prob in zip(images, probs, strict=True):
            small = Image.fromarray(((prob >= self.threshold) * 255).astype("uint8"), "L")
            out.append(small.resize(image.size, Image.Resampling.BILINEAR).point(lambda v: 255 if v >= 128 else 0))
        return out


def load_clipseg(model_id: str, *, device: str = "auto", prompt: str | None = None,
                 threshold: float = 0.4) -> ClipSegSegmenter:
    from transformers import CLIPSegForImageSegmentation, CLIPSegProcessor

    where = resolve_device(device)
    dtype = resolve_dtype(where)
    processor = load_pretrained(CLIPSegProcessor.from_pretrained, model_id, "clipseg")
    model = load_pretrained(CLIPSegForImageSegmentation.from_pretrained, model_id, "clipseg", dtype=dtype)
    return ClipSegSegmenter("clipseg", model_id, revision_of(model_id), prompt, model.to(where).eval(), processor,
                            where, dtype, threshold)
