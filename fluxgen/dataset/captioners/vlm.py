"""Chat vision-language captioners: Qwen2.5-VL, Qwen3-VL and JoyCaption (LLaVA), with an editable instruction.

Qwen's AutoProcessor also builds a video processor that needs torchvision; where torchvision does not import
(CPU torch builds from PyPI), the tokenizer and the image processor are loaded on their own and the chat text is
assembled here (ref:captioners).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fluxgen.dataset.captioners.base import (
    Loaded,
    generation_kwargs,
    load_pretrained,
    resolve_device,
    resolve_dtype,
    revision_of,
)

QWEN_IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"


@dataclass
class ChatCaptioner(Loaded):
    model: Any
    tokenizer: Any
    image_processor: Any
    device: str
    dtype: Any
    generate: dict[str, Any]
    image_tokens: Any  # (image_inputs, index) -> the image placeholder text for that picture
    processor: Any = None  # when set, it expands the placeholder itself (LLaVA)

    def caption(self, images: list[Any]) -> list[str]:
        import torch

        self.tokenizer.padding_side = "left"
        if self.processor is not None:
            texts = [self._chat(self.image_tokens(None, i)) for i in range(len(images))]
            tokens = inputs = dict(self.processor(text=texts, images=images, return_tensors="pt", padding=True))
        else:
            pixels = self.image_processor(images=images, return_tensors="pt")
            texts = [self._chat(self.image_tokens(pixels, i)) for i in range(len(images))]
            tokens = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            inputs = {**tokens, **pixels}
        inputs = {k: (v.to(self.device, self.dtype) if v.is_floating_point() else v.to(self.device))
                  for k, v in inputs.items()}
        with torch.inference_mode():
            ids = self.model.generate(**inputs, **self.generate)
        new = ids[:, tokens["input_ids"].shape[1]:]
        return [text.strip() for text in self.tokenizer.batch_decode(new, skip_special_tokens=True)]

    def _chat(self, image_text: str) -> str:
        """The model's own chat template when its tokenizer has one; else the Qwen/LLaVA turn format."""
        messages = [{"role": "user", "content": f"{image_text}{self.prompt or ''}"}]
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return f"<|im_start|>user\n{image_text}{self.prompt or ''}<|im_end|>\n<|im_start|>assistant\n"


def _qwen_tokens(merge: int):
    def tokens(pixels: Any, index: int) -> str:
        count = int(pixels["image_grid_thw"][index].prod()) // (merge * merge)
        return QWEN_IMAGE.replace("<|image_pad|>", "<|image_pad|>" * count)
    return tokens


def _load(name: str, model_class: str, model_id: str, device: str, prompt: str | None, max_new_tokens: int,
          image_tokens_for) -> ChatCaptioner:
    import transformers
    from transformers import AutoImageProcessor, AutoTokenizer

    where = resolve_device(device)
    dtype = resolve_dtype(where)
    tokenizer = load_pretrained(AutoTokenizer.from_pretrained, model_id, name)
    image_processor = load_pretrained(AutoImageProcessor.from_pretrained, model_id, name)
    model = load_pretrained(getattr(transformers, model_class).from_pretrained, model_id, name, dtype=dtype)
    model = model.to(where).eval()
    return ChatCaptioner(name, model_id, revision_of(model_id), prompt, model, tokenizer, image_processor, where,
                         dtype, generation_kwargs(max_new_tokens), image_tokens_for(image_processor, model))


def load_qwen25(model_id: str, *, device: str = "auto", prompt: str | None = None,
                max_new_tokens: int = 128) -> ChatCaptioner:
    return _load("qwen2.5-vl", "Qwen2_5_VLForConditionalGeneration", model_id, device, prompt, max_new_tokens,
                 lambda ip, _m: _qwen_tokens(ip.merge_size))


def load_qwen3(model_id: str, *, device: str = "auto", prompt: str | None = None,
               max_new_tokens: int = 128) -> ChatCaptioner:
    import transformers

    if not hasattr(transformers, "Qwen3VLForConditionalGeneration"):
        from fluxgen.errors import UserError

        raise UserError(f"qwen3-vl needs a newer transformers than {transformers.__version__}; "
                        "pip install -U transformers, or use --captioner qwen2.5-vl")
    return _load("qwen3-vl", "Qwen3VLForConditionalGeneration", model_id, device, prompt, max_new_tokens,
                 lambda ip, _m: _qwen_tokens(ip.merge_size))


def load_llava(model_id: str, *, device: str = "auto", prompt: str | None = None,
               max_new_tokens: int = 128) -> ChatCaptioner:
    """JoyCaption is a LLaVA model (SigLIP + Llama); its processor expands the one <image> token to the patches."""
    import transformers
    from transformers import AutoProcessor

    where = resolve_device(device)
    dtype = resolve_dtype(where)
    processor = load_pretrained(AutoProcessor.from_pretrained, model_id, "joycaption")
    model = load_pretrained(transformers.LlavaForConditionalGeneration.from_pretrained, model_id, "joycaption",
                            dtype=dtype)
    image_token = getattr(processor, "image_token", None) or "<image>"
    return ChatCaptioner("joycaption", model_id, revision_of(model_id), prompt, model.to(where).eval(),
                         processor.tokenizer, processor.image_processor, where, dtype,
                         generation_kwargs(max_new_tokens), lambda _pixels, _i: image_token, processor)
