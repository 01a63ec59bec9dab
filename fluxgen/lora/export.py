"""Writing converted LoRA files: key names per format, metadata carried over and the conversion recorded in it."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen import __version__
from fluxgen.errors import UserError
from fluxgen.lora import bfl
from fluxgen.lora.convert import (
    DIFFUSERS,
    KOHYA,
    LoraFile,
    Pair,
    adapter_scale,
    read_lora,
    to_diffusers,
    to_kohya,
)

CONVERSIONS_KEY = "fluxgen.conversions"
# Metadata that describes the source layout and would be wrong after conversion.
_DROPPED = {"lora_adapter_metadata"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Converted:
    source: Path
    out: Path
    source_format: str
    target: str
    modules_in: int
    modules_out: int
    tensors: int


def modules_as(lora: LoraFile, target: str) -> dict[str, Pair]:
    """The modules of `lora` in `target`'s naming (unchanged when it is already in that format)."""
    if lora.format == target:
        return lora.modules
    if target == DIFFUSERS:
        return to_diffusers(lora)
    return to_kohya(lora, adapter_scale(lora.metadata))


def state_dict(modules: dict[str, Pair], target: str) -> dict[str, Any]:
    """Tensor names as each format's loaders expect them."""
    out: dict[str, Any] = {}
    for name, pair in sorted(modules.items()):
        if target == KOHYA:
            key = bfl.kohya_name(name)
            out[f"{key}.lora_down.weight"], out[f"{key}.lora_up.weight"] = pair.down, pair.up
        else:
            key = f"transformer.{name}"
            out[f"{key}.lora_A.weight"], out[f"{key}.lora_B.weight"] = pair.down, pair.up
        if pair.alpha is not None:
            out[f"{key}.alpha"] = pair.alpha
    return {k: v.clone().contiguous() for k, v in out.items()}  # parts may share one tensor: save each


def diffusers_state_dict(path: Path) -> dict[str, Any]:
    """Any supported LoRA file as the state dict diffusers' `load_lora_weights` takes (kohya converted in memory)."""
    return state_dict(modules_as(read_lora(path), DIFFUSERS), DIFFUSERS)


def converted_metadata(metadata: dict[str, str], source: Path, source_format: str, target: str) -> dict[str, str]:
    """Every key carried over except the source layout's own description; the conversion appended to a list."""
    out = {k: v for k, v in metadata.items() if k not in _DROPPED}
    try:
        history = json.loads(out.get(CONVERSIONS_KEY, "[]"))
    except json.JSONDecodeError:
        history = []
    history = history if isinstance(history, list) else []
    history.append({"from": source_format, "to": target, "source": source.name, "by": f"fluxgen {__version__}"})
    out[CONVERSIONS_KEY] = json.dumps(history, ensure_ascii=False)
    out.setdefault("format", "pt")
    return out


def convert_file(source: Path, target: str, out: Path | None = None, force: bool = False,
                 copy_same: bool = False) -> Converted:
    """Read, convert, re-read what was written and compare it, then move it into place (never clobbering).
    `copy_same` writes a file already in `target`'s format as a copy (exports want the file either way)."""
    source = Path(source)
    lora = read_lora(source)
    if lora.format == target and not copy_same:
        raise UserError(f"{source}: already has {target} keys; nothing to convert")
    out = Path(out) if out else default_out(source, target)
    if out.resolve() == source.resolve():
        raise UserError(f"{out}: is the input file; choose another --out")
    if out.exists() and not force:
        raise UserError(f"{out}: already exists; pass --force to replace it or choose another --out")
    modules = modules_as(lora, target)
    tensors = state_dict(modules, target)
    metadata = converted_metadata(lora.metadata, source, lora.format, target)
    write_checked(out, tensors, metadata)
    return Converted(source, out, lora.format, target, len(lora.modules), len(modules), len(tensors))


def write_checked(out: Path, tensors: dict[str, Any], metadata: dict[str, str]) -> None:
    """Write to a temp file beside `out`, read it back and compare every tensor, then rename into place."""
    import torch
    from safetensors.torch import load_file, save_file

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        save_file(tensors, str(tmp), metadata=metadata)
        back = load_file(str(tmp))
        if set(back) != set(tensors) or any(not torch.equal(back[k], v) for k, v in tensors.items()):
            raise UserError(f"{out}: the written file does not read back as converted; nothing was written")
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except OSError as exc:
        raise UserError(f"{out}: cannot write it ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)


def default_out(source: Path, target: str) -> Path:
    stem = source.name.removesuffix(".safetensors")
    return source.with_name(f"{stem}.{target}.safetensors")


def export_name(name: str, steps: int | None, version: int = 1, suffix: str = "") -> str:
    """seed:003's naming: `character-name_v1_1000steps.safetensors` (the name made file-safe)."""
    safe = _SAFE_NAME.sub("-", name).strip("-._") or "lora"
    step_part = f"_{steps}steps" if steps is not None else ""
    return f"{safe}_v{version}{step_part}{suffix}.safetensors"
