"""What every captioner shares: the device and dtype, and loading a checkpoint with one clear line when it is
not there (offline, gated, misspelt)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fluxgen.errors import UserError

T = TypeVar("T")


def resolve_device(device: str) -> str:
    """auto: CUDA when there is one, else Apple's MPS, else the CPU."""
    import torch

    if device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise UserError(f"--device {device}: no CUDA GPU here; use --device cpu or auto")
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def resolve_dtype(device: str):
    """bf16 on GPUs that have it, fp16 on older GPUs and MPS, fp32 on the CPU (half precision is slow there)."""
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float16 if device == "mps" else torch.float32


def load_pretrained(load: Callable[..., T], model_id: str, what: str, **kwargs: Any) -> T:
    """`load(model_id, ...)` from a local folder or the hub cache; missing, gated and offline end in one line."""
    local = Path(model_id).expanduser()
    if local.exists() or model_id.startswith((".", "/", "~")):
        if not local.is_dir():
            raise UserError(f"--model {model_id}: no such folder; give a Hugging Face id or a local model folder")
        model_id = str(local)
    _quiet()
    try:
        return load(model_id, **kwargs)
    except ImportError as exc:
        raise UserError(f"{what} '{model_id}' needs a package that is not installed ({exc}); "
                        "pip install 'fluxgen[caption]'") from None
    except (OSError, ValueError) as exc:
        raise UserError(_load_failure(model_id, what, exc)) from None


def _quiet() -> None:
    """transformers' per-load progress bars and backend notices would interleave with fluxgen's own bar."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def _load_failure(model_id: str, what: str, exc: Exception) -> str:
    text = str(exc)
    low = text.lower()
    if "gated" in low or "401" in low or "403" in low:
        return (f"{what} '{model_id}' is gated: accept its licence at https://huggingface.co/{model_id} and set "
                "HF_TOKEN (or run `hf auth login`)")
    if Path(model_id).is_dir():
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return f"{model_id}: not a {what} checkpoint this transformers can load ({first})"
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or "offline" in low or "cache" in low \
            or "connect" in low:
        return (f"{what} '{model_id}' is not in the Hugging Face cache and the hub is offline; download it where "
                f"there is network (`hf download {model_id}`), or pass --model /path/to/a/local/copy")
    if "not a valid model identifier" in low or "repository not found" in low or "404" in low:
        return f"{what} '{model_id}': no such model on the Hugging Face hub; check --model"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"{what} '{model_id}': cannot load it ({first})"


def revision_of(model_id: str) -> str | None:
    """The hub commit of a cached checkpoint, or a local folder's `revision` note; recorded in captions.json."""
    local = Path(model_id).expanduser()
    if local.is_dir():
        parts = local.resolve().parts
        if "snapshots" in parts:
            return parts[parts.index("snapshots") + 1] if parts.index("snapshots") + 1 < len(parts) else None
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(model_id, "config.json")
    except Exception:
        return None
    if isinstance(found, str) and "snapshots" in Path(found).parts:
        parts = Path(found).parts
        return parts[parts.index("snapshots") + 1]
    return None


def generation_kwargs(max_new_tokens: int, num_beams: int = 1) -> dict[str, Any]:
    """Deterministic decoding: the same picture gets the same caption on every run."""
    return {"max_new_tokens": max_new_tokens, "num_beams": num_beams, "do_sample": False}


@dataclass
class Loaded:
    """What every loaded captioner or segmenter says of itself (recorded in captions.json): which checkpoint, at
    which revision, asked with which prompt."""

    name: str
    model_id: str
    revision: str | None
    prompt: str | None


@dataclass
class ProcessorModel(Loaded):
    """A transformers processor + model pair on a device, in a dtype."""

    model: Any
    processor: Any
    device: str
    dtype: Any
