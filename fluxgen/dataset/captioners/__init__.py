"""Captioners and segmenters behind one small interface, chosen by name.

Each entry names its default checkpoint, what a user installs for it, and the module that loads it; nothing
heavy is imported until `load_captioner` runs (the `fluxgen dataset caption` command, never `--help`).
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from fluxgen.errors import UserError


class Captioner(Protocol):
    """Turns a batch of RGB pictures into one text each; says which model and prompt it used."""

    name: str
    model_id: str
    revision: str | None
    prompt: str | None

    def caption(self, images: list[Any]) -> list[str]: ...


class Segmenter(Protocol):
    """Turns a batch of RGB pictures into one mask each (mode 'L', white = subject, the picture's size)."""

    name: str
    model_id: str
    revision: str | None
    prompt: str | None

    def masks(self, images: list[Any]) -> list[Any]: ...


@dataclass(frozen=True)
class Spec:
    """A captioner or segmenter by name: default checkpoint, what to install, how to load."""

    model: str
    install: str
    loader: str  # "module:function" taking (model_id, device=..., prompt=..., **options)
    prompt: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


CAPTION_EXTRA = "pip install 'fluxgen[caption]'"
CAPTIONERS: dict[str, Spec] = {
    # Native transformers class with the florence-community checkpoints; microsoft/* needs trust_remote_code,
    # which broke repeatedly (ref:captioners). <DETAILED_CAPTION> with 3 beams as ai-toolkit's older UI used.
    "florence2": Spec("florence-community/Florence-2-base", CAPTION_EXTRA,
                      "fluxgen.dataset.captioners.hf:load_florence2", "<DETAILED_CAPTION>", {"num_beams": 3}),
    # seed:001: Salesforce/blip2-opt-2.7b, max_new_tokens=30.
    "blip2": Spec("Salesforce/blip2-opt-2.7b", CAPTION_EXTRA, "fluxgen.dataset.captioners.hf:load_blip2", None,
                  {"max_new_tokens": 30}),
    "qwen2.5-vl": Spec("Qwen/Qwen2.5-VL-3B-Instruct", CAPTION_EXTRA, "fluxgen.dataset.captioners.vlm:load_qwen25",
                       "Describe this image in one or two sentences for a training caption. Describe only what is "
                       "visible; do not name an art style.", {"max_new_tokens": 128}),
    "qwen3-vl": Spec("Qwen/Qwen3-VL-4B-Instruct", CAPTION_EXTRA, "fluxgen.dataset.captioners.vlm:load_qwen3",
                     "Describe this image in one or two sentences for a training caption. Describe only what is "
                     "visible; do not name an art style.", {"max_new_tokens": 128}),
    "joycaption": Spec("fancyfeast/llama-joycaption-beta-one-hf-llava", CAPTION_EXTRA,
                       "fluxgen.dataset.captioners.vlm:load_llava",
                       "Write a descriptive caption for this image in a formal tone.", {"max_new_tokens": 128}),
    "wd14": Spec("SmilingWolf/wd-vit-tagger-v3", "pip install 'fluxgen[caption,wd14]' (onnxruntime)",
                 "fluxgen.dataset.captioners.wd14:load_wd14", None, {"threshold": 0.35}),
}
SEGMENTERS: dict[str, Spec] = {
    # CLIPSeg with the subject as its prompt: the segmentation OneTrainer offers for masked training.
    "clipseg": Spec("CIDAS/clipseg-rd64-refined", CAPTION_EXTRA, "fluxgen.dataset.captioners.segment:load_clipseg",
                    "the main subject", {"threshold": 0.4}),
}


def pick(name: str, table: dict[str, Spec], what: str) -> Spec:
    key = name.strip().lower()
    if key not in table:
        close = difflib.get_close_matches(key, list(table), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UserError(f"--{what} '{name}': unknown{hint}; choose one of {', '.join(table)}")
    return table[key]


def _load(spec: Spec, name: str, model: str | None, device: str, prompt: str | None, options: dict[str, Any]):
    module_name, _, function = spec.loader.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"{name} needs {exc.name or 'packages'} that is not installed; {spec.install}") from None
    merged = {**spec.options, **{k: v for k, v in options.items() if v is not None}}
    return getattr(module, function)(model or spec.model, device=device,
                                     prompt=prompt if prompt is not None else spec.prompt, **merged)


def load_captioner(name: str, *, model: str | None = None, device: str = "auto", prompt: str | None = None,
                   **options: Any) -> Captioner:
    """The named captioner on the device, with its checkpoint (`--model` overrides the default)."""
    spec = pick(name, CAPTIONERS, "captioner")
    return _load(spec, name.strip().lower(), model, device, prompt, options)


def load_segmenter(name: str, *, model: str | None = None, device: str = "auto", prompt: str | None = None,
                   **options: Any) -> Segmenter:
    spec = pick(name, SEGMENTERS, "mask-model")
    return _load(spec, name.strip().lower(), model, device, prompt, options)
