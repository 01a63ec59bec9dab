"""FLUX.1 LoRA key formats, converted exactly: kohya (`lora_unet_*`, `.alpha`) ↔ diffusers/peft (`transformer.*`).

Fused BFL weights (`qkv`, `linear1`) are split into the diffusers parts and joined back. A kohya module adapts the
fused weight with one down matrix; diffusers parts that share it split cleanly, parts trained with their own down
matrices (the builtin trainer, ai-toolkit) join as a block-diagonal LoRA of the summed rank, which is exact, and
split back into the original parts. Alpha is kept where it is not the rank; a peft file without alpha means scale 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.lora import bfl

KOHYA, DIFFUSERS = "kohya", "diffusers"
TARGETS = (KOHYA, DIFFUSERS)
_PEFT_SUFFIXES = {".lora_A.weight": "down", ".lora_B.weight": "up", ".lora.down.weight": "down",
                  ".lora.up.weight": "up", ".alpha": "alpha"}
_KOHYA_SUFFIXES = {".lora_down.weight": "down", ".lora_up.weight": "up", ".alpha": "alpha"}


@dataclass
class Pair:
    """One adapted linear layer: delta W = up @ down × (alpha / rank), alpha None meaning scale 1."""

    down: Any
    up: Any
    alpha: Any = None

    @property
    def rank(self) -> int:
        return int(self.down.shape[0])

    @property
    def scale(self) -> float:
        return 1.0 if self.alpha is None else float(self.alpha) / self.rank


@dataclass
class LoraFile:
    """A LoRA read into modules: `format` is kohya (BFL names) or diffusers (names without `transformer.`)."""

    format: str
    modules: dict[str, Pair]
    metadata: dict[str, str]


def read_lora(path: Path) -> LoraFile:
    """Load every tensor and group it by module; what cannot be converted is refused, naming its keys."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from fluxgen.lora.header import read_header

    read_header(Path(path))  # one-line errors for missing, truncated or non-safetensors files
    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as fh:
        metadata = dict(fh.metadata() or {})
    return parse_tensors(tensors, metadata, str(path))


def parse_tensors(tensors: dict[str, Any], metadata: dict[str, str], source: str) -> LoraFile:
    kohya = any(k.startswith(("lora_unet_", "lora_te")) for k in tensors)
    peft = any(k.startswith(("transformer.", "transformer_blocks.", "single_transformer_blocks.", "text_encoder"))
               for k in tensors)
    if kohya and peft:
        raise UserError(f"{source}: holds both kohya (lora_unet_*) and diffusers (transformer.*) keys; "
                        "convert each part separately")
    fmt = KOHYA if kohya else DIFFUSERS
    groups, bad = _group(tensors, _KOHYA_SUFFIXES if kohya else _PEFT_SUFFIXES, kohya)
    if bad:
        raise UserError(f"{source}: cannot convert {len(bad)} tensors ({_names(bad)}): {_why(bad)}")
    modules: dict[str, Pair] = {}
    for name, roles in groups.items():
        if "down" not in roles or "up" not in roles:
            raise UserError(f"{source}: module {name} lacks its {'up' if 'down' in roles else 'down'} weight; "
                            "the file is incomplete")
        if roles["down"].ndim != 2 or roles["up"].ndim != 2:
            raise UserError(f"{source}: module {name} is not a linear LoRA (shape {tuple(roles['down'].shape)})")
        modules[name] = Pair(roles["down"], roles["up"], roles.get("alpha"))
    if not modules:
        raise UserError(f"{source}: no LoRA tensors found; is it a LoRA file?")
    return LoraFile(fmt, modules, metadata)


def _group(tensors: dict[str, Any], suffixes: dict[str, str], kohya: bool) -> tuple[dict, list[str]]:
    groups: dict[str, dict[str, Any]] = {}
    bad: list[str] = []
    for key, value in tensors.items():
        suffix = next((s for s in suffixes if key.endswith(s)), None)
        module = key[: -len(suffix)] if suffix else None
        name = _module_name(module, kohya) if module else None
        if name is None:
            bad.append(key)
            continue
        groups.setdefault(name, {})[suffixes[suffix]] = value
    return groups, bad


def _module_name(module: str, kohya: bool) -> str | None:
    if kohya:
        return bfl.bfl_from_kohya(module)
    name = module.removeprefix("transformer.")
    return name if bfl.bfl_from_diffusers(name) else None


def _names(keys: list[str], shown: int = 3) -> str:
    more = f", … {len(keys) - shown} more" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


def _why(keys: list[str]) -> str:
    if any(k.startswith(("lora_te", "text_encoder")) for k in keys):
        return "text-encoder LoRA weights are not converted; train the transformer only or convert with the tool " \
               "that trained them"
    if any(s in k for k in keys for s in ("hada_", "lokr_", "dora_scale", "lora_magnitude")):
        return "LyCORIS/DoRA weights are not plain LoRA and have no equivalent in the other format"
    return "not a FLUX.1 transformer module fluxgen knows"


def to_diffusers(lora: LoraFile) -> dict[str, Pair]:
    """kohya modules → diffusers modules (fused ones split), exactly."""
    out: dict[str, Pair] = {}
    for name, pair in lora.modules.items():
        parts = bfl.diffusers_parts(name)
        up = _swap_halves(pair.up) if name in bfl.SWAPPED else pair.up
        if len(parts) == 1:
            out[parts[0]] = Pair(pair.down, up, _keep_alpha(pair.alpha, pair.rank, up))
            continue
        sizes = bfl.split_sizes(name, up.shape[0], pair.down.shape[1])
        if sizes is None:
            raise UserError(f"module {bfl.kohya_name(name)}: {up.shape[0]} output rows cannot be split into "
                            f"{len(parts)} parts of a {pair.down.shape[1]}-wide layer")
        out.update(zip(parts, _split(pair, up.split(sizes, dim=0)), strict=True))
    return out


def _split(pair: Pair, ups: tuple) -> list[Pair]:
    """Shared down → the same down for every part; a block-diagonal up (joined by `_join`) → its blocks."""
    n = len(ups)
    rank = pair.rank
    if rank % n == 0 and rank > n and _is_block_diagonal(ups, rank // n):
        r = rank // n
        alpha = None if pair.alpha is None else (pair.alpha.double() / n).to(pair.alpha.dtype)
        return [Pair(pair.down[i * r:(i + 1) * r].contiguous(), ups[i][:, i * r:(i + 1) * r].contiguous(),
                     _keep_alpha(alpha, r, ups[i])) for i in range(n)]
    return [Pair(pair.down, u.contiguous(), _keep_alpha(pair.alpha, rank, u)) for u in ups]


def _is_block_diagonal(ups: tuple, r: int) -> bool:
    """Each part's rows use only its own block of columns, and every block is non-zero (so not an untrained LoRA)."""
    for i, u in enumerate(ups):
        own = u[:, i * r:(i + 1) * r]
        if not bool(own.any()):
            return False
        rest = u.clone()
        rest[:, i * r:(i + 1) * r] = 0
        if bool(rest.any()):
            return False
    return True


def _keep_alpha(alpha: Any, rank: int, up: Any) -> Any:
    """Drop an alpha that equals the rank in the weights' dtype: it is what a missing alpha means."""
    if alpha is None or (alpha.dtype == up.dtype and float(alpha) == rank):
        return None
    return alpha


def to_kohya(lora: LoraFile, scale: float | None = None) -> dict[str, Pair]:
    """diffusers modules → kohya modules (parts joined into the fused BFL weight), exactly."""
    grouped: dict[str, dict[int, Pair]] = {}
    for name, pair in lora.modules.items():
        target, index = bfl.bfl_from_diffusers(name)
        if pair.alpha is None and scale is not None:
            pair = Pair(pair.down, pair.up, _alpha_tensor(scale * pair.rank, pair.up))
        grouped.setdefault(target, {})[index] = pair
    out: dict[str, Pair] = {}
    for target, parts in grouped.items():
        count = len(bfl.diffusers_parts(target))
        joined = _join(target, [parts.get(i) for i in range(count)]) if count > 1 else parts[0]
        up = _swap_halves(joined.up) if target in bfl.SWAPPED else joined.up
        alpha = joined.alpha if joined.alpha is not None else _alpha_tensor(joined.rank, up)
        out[target] = Pair(joined.down, up, alpha)
    return out


def _join(target: str, parts: list[Pair | None]) -> Pair:
    import torch

    present = [p for p in parts if p is not None]
    width = present[0].down.shape[1]
    missing = [i for i, p in enumerate(parts) if p is None]
    if missing and (len(parts) == 4 and 3 in missing):
        raise UserError(f"module {bfl.kohya_name(target)}: proj_mlp is missing, so the fused linear1 cannot be "
                        "built; convert a LoRA that trains all of to_q, to_k, to_v and proj_mlp")
    first = present[0]
    shared = all(torch.equal(p.down, first.down) for p in present) and \
        len({p.scale for p in present}) == 1 and len({_alpha_key(p.alpha) for p in present}) == 1
    if shared:
        ups = [p.up if p is not None else first.up.new_zeros(width, first.rank) for p in parts]
        return Pair(first.down, torch.cat(ups, dim=0), first.alpha)
    downs = [p.down for p in present]
    scales = {p.scale for p in present}
    ups = [p.up if len(scales) == 1 else (p.up.double() * p.scale).to(p.up.dtype) for p in present]
    blocks = torch.block_diag(*ups)
    rows = iter(blocks.split([u.shape[0] for u in ups], dim=0))
    full = [next(rows) if p is not None else blocks.new_zeros(width, blocks.shape[1]) for p in parts]
    rank = sum(d.shape[0] for d in downs)
    scale = scales.pop() if len(scales) == 1 else 1.0
    alpha = None if scale == 1.0 else _alpha_tensor(scale * rank, blocks)
    return Pair(torch.cat(downs, dim=0), torch.cat(full, dim=0), alpha)


def _alpha_key(alpha: Any) -> tuple | None:
    return None if alpha is None else (str(alpha.dtype), float(alpha))


def _alpha_tensor(value: float, like: Any) -> Any:
    import torch

    return torch.tensor(float(value), dtype=like.dtype)


def _swap_halves(up: Any) -> Any:
    import torch

    first, second = up.chunk(2, dim=0)
    return torch.cat([second, first], dim=0)


def adapter_scale(metadata: dict[str, str]) -> float | None:
    """Scale stated by diffusers' `lora_adapter_metadata` (lora_alpha / r) when it is not 1, else None."""
    try:
        config = json.loads(metadata.get("lora_adapter_metadata") or "{}")
    except json.JSONDecodeError:
        return None
    if not isinstance(config, dict):
        return None
    rank = next((v for k, v in config.items() if k == "r" or k.endswith(".r")), None)
    alpha = next((v for k, v in config.items() if k == "lora_alpha" or k.endswith(".lora_alpha")), None)
    if isinstance(rank, int | float) and isinstance(alpha, int | float) and rank and alpha != rank:
        return float(alpha) / float(rank)
    return None
