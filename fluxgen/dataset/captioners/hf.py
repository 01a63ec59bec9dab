"""Florence-2 and BLIP-2 through transformers' native classes (no trust_remote_code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fluxgen.dataset.captioners.base import (
    ProcessorModel,
    generation_kwargs,
    load_pretrained,
    resolve_device,
    resolve_dtype,
    revision_of,
)
from fluxgen.errors import UserError

FLORENCE_TASKS = ("<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>")


@dataclass
class EncoderDecoderCaptioner(ProcessorModel):
    """A processor + a generating model: pictures (and a task prompt) in, decoded text out."""

    generate: dict[str, Any]

    def caption(self, images: list[Any]) -> list[str]:
        import torch

        kwargs: dict[str, Any] = {"images": images, "return_tensors": "pt"}
        if self.prompt:
            kwargs["text"] = [self.prompt] * len(images)
        inputs = self.processor(**kwargs)
        inputs = {k: (v.to(self.device, self.dtype) if v.is_floating_point() else v.to(self.device))
                  for k, v in inputs.items()}
        with torch.inference_mode():
            ids = self.model.generate(**inputs, **self.generate)
        if "input_ids" in inputs and not self.model.config.is_encoder_decoder:
            ids = ids[:, inputs["input_ids"].shape[1]:]
        return [text.strip() for text in self.processor.batch_decode(ids, skip_special_tokens=True)]


def _build(name: str, model_class: str, model_id: str, device: str, prompt: str | None,
           max_new_tokens: int, num_beams: int) -> EncoderDecoderCaptioner:
    import transformers
    from transformers import AutoProcessor

    where = resolve_device(device)
    dtype = resolve_dtype(where)
    processor = load_pretrained(AutoProcessor.from_pretrained, model_id, name)
    model = load_pretrained(getattr(transformers, model_class).from_pretrained, model_id, name, dtype=dtype)
    model = model.to(where).eval()
    return EncoderDecoderCaptioner(name, model_id, revision_of(model_id), prompt, model, processor, where, dtype,
                                   generation_kwargs(max_new_tokens, num_beams))


def load_florence2(model_id: str, *, device: str = "auto", prompt: str | None = "<DETAILED_CAPTION>",
                   max_new_tokens: int = 256, num_beams: int = 3) -> EncoderDecoderCaptioner:
    """Florence-2 takes a task token as its whole prompt."""
    if prompt not in FLORENCE_TASKS:
        raise UserError(f"--prompt '{prompt}': Florence-2 takes one of its task tokens: {', '.join(FLORENCE_TASKS)}")
    return _build("florence2", "Florence2ForConditionalGeneration", model_id, device, prompt, max_new_tokens,
                  num_beams)


def load_blip2(model_id: str, *, device: str = "auto", prompt: str | None = None, max_new_tokens: int = 30,
               num_beams: int = 1) -> EncoderDecoderCaptioner:
    """BLIP-2 as seed:001 runs it: the picture alone (an optional text prefix), 30 new tokens."""
    return _build("blip2", "Blip2ForConditionalGeneration", model_id, device, prompt, max_new_tokens, num_beams)
