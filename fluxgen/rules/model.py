"""The base model: what ai-toolkit's `name_or_path` takes, and the single files sd-scripts needs."""

from __future__ import annotations

from pathlib import Path

from fluxgen.errors import UserError
from fluxgen.rules import Resolver

HUB_IDS = {"dev": "black-forest-labs/FLUX.1-dev", "schnell": "black-forest-labs/FLUX.1-schnell"}
SCHNELL_ADAPTER = "ostris/FLUX.1-schnell-training-adapter"
TEXT_ENCODERS_REPO = "comfyanonymous/flux_text_encoders"
# Files the hub publishes per base, as `hf://repo/file` (resolved from the Hugging Face cache when training).
HUB_FILES = {
    "dev": {"transformer": "hf://black-forest-labs/FLUX.1-dev/flux1-dev.safetensors",
            "ae": "hf://black-forest-labs/FLUX.1-dev/ae.safetensors"},
    "schnell": {"transformer": "hf://black-forest-labs/FLUX.1-schnell/flux1-schnell.safetensors",
                "ae": "hf://black-forest-labs/FLUX.1-schnell/ae.safetensors"},
}
# A local diffusers folder's component files, for trainers that read single files.
DIFFUSERS_FILES = {
    "transformer": "transformer/diffusion_pytorch_model.safetensors",
    "clip_l": "text_encoder/model.safetensors",
    "t5xxl": "text_encoder_2/model.safetensors",
    "ae": "vae/diffusion_pytorch_model.safetensors",
}


def plan_model(r: Resolver) -> None:
    base = r.take("base_model", "model.base", "dev", "FLUX.1 dev (seed:000)")
    kind, location = _classify(base)
    if kind == "local":
        r.values["base_model"] = location  # absolute, so the plan is the same from any working folder
    r.set("base_model_kind", kind, f"'{base}' is {'a local diffusers folder' if kind == 'local' else 'a hub model'}")
    r.set("model_path", location, "what ai-toolkit's model.name_or_path takes (ref:ai-toolkit §6)")
    r.planner.model(r, kind, location)


def _classify(base: str) -> tuple[str, str]:
    key = base.strip().lower()
    if key in HUB_IDS:
        return key, HUB_IDS[key]
    for name, repo in HUB_IDS.items():
        if base.strip() == repo:
            return name, repo
    path = Path(base).expanduser()
    if path.is_dir():
        if not (path / "transformer").is_dir():
            raise UserError(f"{base}: not a diffusers FLUX folder (no transformer/ inside); "
                            "give a folder made by `fluxgen model tiny` or downloaded from the hub")
        return "local", str(path.resolve())
    if base.count("/") == 1 and not base.startswith((".", "/", "~")):
        return "hub", base
    raise UserError(f"model.base '{base}': not 'dev', 'schnell', a hub id (org/name) or an existing folder")
