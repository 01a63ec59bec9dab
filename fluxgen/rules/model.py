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
    if r.backend == "sd-scripts":
        _single_files(r, kind, location)
    else:
        unused = [f"model.{part}" for part in ("transformer", "clip_l", "t5xxl", "ae") if r.is_given(f"model.{part}")]
        if unused:
            r.warn(f"{', '.join(unused)}: only sd-scripts reads single model files; {r.backend} loads model.base, "
                   "so these are not used", "rules/model.py")


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


def _single_files(r: Resolver, kind: str, location: str) -> None:
    t5 = "t5xxl_fp8_e4m3fn.safetensors" if r.values["vram_tier"] <= 10 else "t5xxl_fp16.safetensors"
    defaults = dict(HUB_FILES.get(kind, HUB_FILES["dev"]))
    defaults["clip_l"] = f"hf://{TEXT_ENCODERS_REPO}/clip_l.safetensors"
    defaults["t5xxl"] = f"hf://{TEXT_ENCODERS_REPO}/{t5}"
    for part in ("transformer", "clip_l", "t5xxl", "ae"):
        if r.is_given(f"model.{part}"):
            value = r.take(f"model.{part}", f"model.{part}", None, "")
        elif kind == "local":
            value = r.set(f"model.{part}", _component_file(location, part),
                          "the diffusers folder's component file (ref:sd-scripts §1.2)")
        elif kind == "hub" and part in ("transformer", "ae"):
            raise UserError(f"model.base '{location}': sd-scripts reads single files, and fluxgen knows them only for "
                            "FLUX.1 dev and schnell; pass --set model.transformer=PATH --set model.ae=PATH")
        else:
            value = r.set(f"model.{part}", defaults[part], "the file the hub publishes for this base, resolved from "
                          "the Hugging Face cache when training (ref:sd-scripts §8)")
        if not value.startswith("hf://"):
            r.values[f"model.{part}"] = str(Path(value).expanduser().resolve())


def _component_file(folder: str, part: str) -> str:
    """The single safetensors file of one component; sharded components cannot be handed to sd-scripts."""
    path = Path(folder) / DIFFUSERS_FILES[part]
    if path.is_file():
        return str(path)
    shards = list(path.parent.glob("*.safetensors.index.json"))
    why = "is sharded into several files" if shards else "has no single file"
    raise UserError(f"{path.parent}: the {part} component {why} ({path.name}); sd-scripts reads single files: "
                    f"pass --set model.{part}=PATH")
