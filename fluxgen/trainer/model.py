"""Loading the FLUX.1 parts from a diffusers folder or hub id, and putting a LoRA on the transformer."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}

# The linear layers that get a LoRA, relative to each block (the module set ai-toolkit trains for FLUX).
DOUBLE_BLOCK_TARGETS = (
    "attn.to_q", "attn.to_k", "attn.to_v", "attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj",
    "attn.to_out.0", "attn.to_add_out", "ff.net.0.proj", "ff.net.2", "ff_context.net.0.proj",
    "ff_context.net.2", "norm1.linear", "norm1_context.linear",
)  # fmt: skip
SINGLE_BLOCK_TARGETS = ("attn.to_q", "attn.to_k", "attn.to_v", "norm.linear", "proj_mlp", "proj_out")
ADAPTER = "default"


def quiet_libraries() -> None:
    """Progress bars and info logs of diffusers/transformers would interleave with the parseable stdout."""
    import warnings

    import diffusers
    import transformers

    warnings.filterwarnings("ignore", message=".*local_dir_use_symlinks.*")
    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def resolve_device(choice: str) -> str:
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise UserError("model.device is 'cuda' but torch sees no CUDA GPU; set model.device: auto")
    return choice


def resolve_dtype(choice: str, device: str):
    """`auto` is bf16 on a GPU and fp32 on a CPU, where bf16 matmuls are slow and fp16 is unsupported."""
    import torch

    if choice == "auto":
        choice = "bf16" if device == "cuda" else "fp32"
    return getattr(torch, DTYPES[choice])


def model_source(path: str) -> str:
    """A local diffusers folder, or a hub id; anything else is a user error named clearly."""
    local = Path(path).expanduser()
    if local.exists():
        if not (local / "model_index.json").is_file() or not (local / "transformer").is_dir():
            raise UserError(
                f"{local}: not a diffusers FLUX.1 folder (needs model_index.json and transformer/); "
                "set model.path to one, e.g. made by `fluxgen model tiny DIR`"
            )
        return str(local)
    if HUB_ID.match(path) and not path.startswith((".", "~")):
        return path
    raise UserError(f"{path}: model folder not found; set model.path to a diffusers FLUX.1 folder or a hub id")


@contextlib.contextmanager
def _loading(source: str, part: str) -> Iterator[None]:
    try:
        yield
    except UserError:
        raise
    except Exception as exc:  # any loader failure (missing file, gated repo, bad config) is one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        hint = ""
        if not Path(source).exists() and os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
            hint = "; HF_HUB_OFFLINE is set, so download the model first or set model.path to a local folder"
        raise UserError(f"{source}: cannot load the {part} ({first}){hint}") from None


def load_transformer(source: str, dtype: Any, device: str):
    from diffusers import FluxTransformer2DModel

    with _loading(source, "transformer"):
        model = FluxTransformer2DModel.from_pretrained(source, subfolder="transformer", torch_dtype=dtype)
    model.requires_grad_(False)
    return model.to(device)


def load_vae(source: str, dtype: Any, device: str):
    from diffusers import AutoencoderKL

    with _loading(source, "VAE"):
        vae = AutoencoderKL.from_pretrained(source, subfolder="vae", torch_dtype=dtype)
    vae.requires_grad_(False)
    return vae.to(device).eval()


def load_scheduler(source: str):
    from diffusers import FlowMatchEulerDiscreteScheduler

    with _loading(source, "scheduler"):
        return FlowMatchEulerDiscreteScheduler.from_pretrained(source, subfolder="scheduler")


def load_text_pipeline(source: str, dtype: Any, device: str):
    """A FluxPipeline holding only the tokenizers and text encoders: its encode_prompt is the reference encoding."""
    from diffusers import FluxPipeline
    from transformers import CLIPTextModel, CLIPTokenizer, T5EncoderModel, T5TokenizerFast

    with _loading(source, "text encoders"):
        parts = {
            "tokenizer": CLIPTokenizer.from_pretrained(source, subfolder="tokenizer"),
            "tokenizer_2": T5TokenizerFast.from_pretrained(source, subfolder="tokenizer_2"),
            "text_encoder": CLIPTextModel.from_pretrained(source, subfolder="text_encoder", torch_dtype=dtype),
            "text_encoder_2": T5EncoderModel.from_pretrained(source, subfolder="text_encoder_2", torch_dtype=dtype),
        }
    for name in ("text_encoder", "text_encoder_2"):
        parts[name] = parts[name].to(device).eval().requires_grad_(False)
    return FluxPipeline(scheduler=None, vae=None, transformer=None, **parts)


def lora_target_modules(transformer: Any) -> list[str]:
    """Full names of the linear layers inside the double and single blocks that get a LoRA."""
    import torch

    names = []
    for name, module in transformer.named_modules():
        parts = name.split(".", 2)
        if not isinstance(module, torch.nn.Linear) or len(parts) < 3:
            continue
        block, rest = parts[0], parts[2]
        if (block == "transformer_blocks" and rest in DOUBLE_BLOCK_TARGETS) or (
            block == "single_transformer_blocks" and rest in SINGLE_BLOCK_TARGETS
        ):
            names.append(name)
    return names


def add_lora(transformer: Any, rank: int, alpha: float, seed: int) -> dict[str, Any]:
    """Attach a fresh LoRA (seeded init, fp32 weights) and return its trainable parameters by name."""
    import torch
    from peft import LoraConfig

    targets = lora_target_modules(transformer)
    if not targets:
        raise UserError("the transformer has no FLUX.1 blocks to put a LoRA on; check model.path")
    torch.manual_seed(seed)
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets, init_lora_weights=True)
    transformer.add_adapter(config, adapter_name=ADAPTER)
    params = {}
    for name, param in transformer.named_parameters():
        if ".lora_A." in name or ".lora_B." in name:
            param.data = param.data.float()
            param.requires_grad_(True)
            params[name] = param
    return params


def export_key(param_name: str) -> str:
    """`…to_q.lora_A.default.weight` → `transformer.…to_q.lora_A.weight`, the key diffusers' loader expects."""
    return "transformer." + param_name.replace(f".{ADAPTER}.", ".")
