"""FLUX.1 module names: Black Forest Labs' (what kohya keys spell) against diffusers' (what peft keys spell).

BFL fuses q/k/v into one `qkv` linear in double blocks and q/k/v/mlp into `linear1` in single blocks; diffusers
keeps them apart. The split sizes are read from the tensors (the hidden width is `linear1`'s input size), never
assumed, so the table holds for the tiny test model as for FLUX.1-dev (19 double / 38 single blocks, width 3072).
"""

from __future__ import annotations

import re

# BFL submodule of a double block -> diffusers submodules (fused parts in output-row order)
DOUBLE: dict[str, tuple[str, ...]] = {
    "img_attn.qkv": ("attn.to_q", "attn.to_k", "attn.to_v"),
    "img_attn.proj": ("attn.to_out.0",),
    "img_mlp.0": ("ff.net.0.proj",),
    "img_mlp.2": ("ff.net.2",),
    "img_mod.lin": ("norm1.linear",),
    "txt_attn.qkv": ("attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj"),
    "txt_attn.proj": ("attn.to_add_out",),
    "txt_mlp.0": ("ff_context.net.0.proj",),
    "txt_mlp.2": ("ff_context.net.2",),
    "txt_mod.lin": ("norm1_context.linear",),
}
SINGLE: dict[str, tuple[str, ...]] = {
    "linear1": ("attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp"),
    "linear2": ("proj_out",),
    "modulation.lin": ("norm.linear",),
}
GLOBAL: dict[str, str] = {
    "img_in": "x_embedder",
    "txt_in": "context_embedder",
    "time_in.in_layer": "time_text_embed.timestep_embedder.linear_1",
    "time_in.out_layer": "time_text_embed.timestep_embedder.linear_2",
    "vector_in.in_layer": "time_text_embed.text_embedder.linear_1",
    "vector_in.out_layer": "time_text_embed.text_embedder.linear_2",
    "guidance_in.in_layer": "time_text_embed.guidance_embedder.linear_1",
    "guidance_in.out_layer": "time_text_embed.guidance_embedder.linear_2",
    "final_layer.linear": "proj_out",
    "final_layer.adaLN_modulation.1": "norm_out.linear",
}
# BFL's final modulation emits (shift, scale); diffusers' norm_out emits (scale, shift): the halves swap.
SWAPPED = frozenset({"final_layer.adaLN_modulation.1"})
KOHYA_PREFIX = "lora_unet_"

_BLOCK = re.compile(r"^(double_blocks|single_blocks)_(\d+)_(.+)$")
_DIFF_BLOCK = re.compile(r"^(transformer_blocks|single_transformer_blocks)\.(\d+)\.(.+)$")
_UNDERSCORED = {
    "double_blocks": {k.replace(".", "_"): k for k in DOUBLE},
    "single_blocks": {k.replace(".", "_"): k for k in SINGLE},
    "global": {k.replace(".", "_"): k for k in GLOBAL},
}
_DIFF_GROUP = {"double_blocks": "transformer_blocks", "single_blocks": "single_transformer_blocks"}
_BFL_GROUP = {v: k for k, v in _DIFF_GROUP.items()}


def kohya_name(bfl: str) -> str:
    """`double_blocks.0.img_attn.qkv` → `lora_unet_double_blocks_0_img_attn_qkv`."""
    return KOHYA_PREFIX + bfl.replace(".", "_")


def bfl_from_kohya(module: str) -> str | None:
    """The dotted BFL name of a kohya module name (without `.lora_down…`), or None when it is not a FLUX one."""
    if not module.startswith(KOHYA_PREFIX):
        return None
    rest = module[len(KOHYA_PREFIX):]
    m = _BLOCK.match(rest)
    if m:
        sub = _UNDERSCORED[m.group(1)].get(m.group(3))
        return f"{m.group(1)}.{m.group(2)}.{sub}" if sub else None
    sub = _UNDERSCORED["global"].get(rest)
    return sub


def diffusers_parts(bfl: str) -> tuple[str, ...] | None:
    """The diffusers modules one BFL module stands for (three or four when it is fused)."""
    group, _, rest = bfl.partition(".")
    if group in _DIFF_GROUP:
        index, _, sub = rest.partition(".")
        table = DOUBLE if group == "double_blocks" else SINGLE
        parts = table.get(sub)
        return tuple(f"{_DIFF_GROUP[group]}.{index}.{p}" for p in parts) if parts else None
    target = GLOBAL.get(bfl)
    return (target,) if target else None


def bfl_from_diffusers(name: str) -> tuple[str, int] | None:
    """(BFL module, index of this part in it) for a diffusers module name, or None when FLUX has no such module."""
    m = _DIFF_BLOCK.match(name)
    if m:
        group = _BFL_GROUP[m.group(1)]
        table = DOUBLE if group == "double_blocks" else SINGLE
        for sub, parts in table.items():
            if m.group(3) in parts:
                return f"{group}.{m.group(2)}.{sub}", parts.index(m.group(3))
        return None
    for bfl, target in GLOBAL.items():
        if target == name:
            return bfl, 0
    return None


def split_sizes(bfl: str, out_rows: int, in_features: int) -> list[int] | None:
    """Row counts of the fused parts, from the shapes: q/k/v are each as wide as the block's input."""
    parts = diffusers_parts(bfl) or ()
    if len(parts) <= 1:
        return [out_rows]
    fused = 3 * in_features
    if len(parts) == 3 and out_rows == fused:
        return [in_features] * 3
    if len(parts) == 4 and out_rows > fused:
        return [in_features] * 3 + [out_rows - fused]
    return None
