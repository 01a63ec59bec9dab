"""LoRA tensor names → modules: which key family wrote them and which part of FLUX.1 each one adapts.

peft/diffusers keys (fluxgen's builtin trainer, ai-toolkit) look like
`transformer.transformer_blocks.0.attn.to_q.lora_A.weight`; kohya keys (sd-scripts) look like
`lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight` plus a `.alpha` scalar per module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fluxgen.lora.header import TensorEntry

PEFT, KOHYA = "peft/diffusers", "kohya"
GROUPS = ("double_blocks", "single_blocks", "text_encoder", "other")

# suffix -> (family, role)
_SUFFIXES: dict[str, tuple[str | None, str]] = {
    ".lora_A.weight": (PEFT, "down"),
    ".lora_B.weight": (PEFT, "up"),
    ".lora.down.weight": (PEFT, "down"),
    ".lora.up.weight": (PEFT, "up"),
    ".lora_linear_layer.down.weight": (PEFT, "down"),
    ".lora_linear_layer.up.weight": (PEFT, "up"),
    ".lora_down.weight": (KOHYA, "down"),
    ".lora_up.weight": (KOHYA, "up"),
    ".alpha": (None, "alpha"),
    ".dora_scale": (None, "dora"),
    ".lora_magnitude_vector": (None, "dora"),
}
_LYCORIS = re.compile(r"\.(hada_w[12]_[ab]|lokr_w[12](_[ab])?|lokr_t2|hada_t[12])$")
_SINGLE = re.compile(r"(?:^|[._])(?:single_transformer_blocks|single_blocks)[._](\d+)[._](.+)$")
_DOUBLE = re.compile(r"(?:^|[._])(?:transformer_blocks|double_blocks)[._](\d+)[._](.+)$")
_LAYER = re.compile(r"(?:^|[._])(?:layers|block)[._](\d+)[._](.+)$")
# module-name prefix -> text encoder it adapts
_ENCODERS = (
    ("lora_te1_", "clip_l"), ("lora_te3_", "t5xxl"), ("lora_te2_", "te2"), ("lora_te_", "clip_l"),
    ("text_encoder_2.", "t5xxl"), ("text_encoder.", "clip_l"),
)
_STRIP = ("transformer.", "lora_unet_", "diffusion_model.", "lora_transformer_")


@dataclass
class Module:
    """One adapted layer: its down/up pair, optional alpha, and where it sits in the model."""

    name: str
    families: set[str] = field(default_factory=set)
    down: TensorEntry | None = None
    up: TensorEntry | None = None
    alpha: TensorEntry | None = None
    group: str = "other"
    block: int | None = None
    sub: str = ""
    encoder: str | None = None

    @property
    def rank(self) -> int | None:
        if self.down is not None and self.down.shape:
            return self.down.shape[0]
        if self.up is not None and len(self.up.shape) >= 2:
            return self.up.shape[1]
        return None


def split_key(key: str) -> tuple[str, str | None, str] | None:
    """`(module, family, role)` for a LoRA tensor name, or None when the name is not a LoRA part."""
    for suffix, (family, role) in _SUFFIXES.items():
        if key.endswith(suffix):
            return key[: -len(suffix)], family, role
    return None


def collect_modules(tensors: dict[str, TensorEntry]) -> tuple[dict[str, Module], list[str], int]:
    """Group tensors by module; also return names nobody recognised and the LyCORIS tensor count."""
    modules: dict[str, Module] = {}
    unknown: list[str] = []
    lycoris = 0
    for key, entry in tensors.items():
        parts = split_key(key)
        if parts is None:
            lycoris += bool(_LYCORIS.search(key))
            unknown.append(key)
            continue
        name, family, role = parts
        module = modules.setdefault(name, Module(name))
        if family:
            module.families.add(family)
        if role in ("down", "up", "alpha"):
            setattr(module, role, entry)
    for module in modules.values():
        module.group, module.block, module.sub, module.encoder = classify(module.name)
    return modules, unknown, lycoris


def classify(name: str) -> tuple[str, int | None, str, str | None]:
    """(group, block index, submodule, text encoder) for a module name in either key family."""
    for prefix, encoder in _ENCODERS:
        if name.startswith(prefix):
            rest = name[len(prefix):]
            m = _LAYER.search(rest)
            return ("text_encoder", int(m.group(1)), m.group(2), encoder) if m else ("text_encoder", None, rest, encoder)
    for group, pattern in (("single_blocks", _SINGLE), ("double_blocks", _DOUBLE)):
        m = pattern.search(name)
        if m:
            return group, int(m.group(1)), m.group(2), None
    for prefix in _STRIP:
        if name.startswith(prefix):
            return "other", None, name[len(prefix):], None
    return "other", None, name, None


def unexpected_prefix(module: Module) -> bool:
    """True when a module's name does not start the way its key family's loaders expect."""
    if PEFT in module.families:
        return not module.name.startswith(("transformer.", "text_encoder"))
    if KOHYA in module.families:
        return not module.name.startswith(("lora_unet_", "lora_te"))
    return False


def summarize_groups(modules: dict[str, Module]) -> dict[str, dict]:
    """Per block type: module count, block indices covered, submodule counts (and text encoders)."""
    out: dict[str, dict] = {}
    for group in GROUPS:
        members = [m for m in modules.values() if m.group == group]
        subs: dict[str, int] = {}
        for m in members:
            subs[m.sub] = subs.get(m.sub, 0) + 1
        entry: dict = {
            "modules": len(members),
            "blocks": sorted({m.block for m in members if m.block is not None}),
            "submodules": dict(sorted(subs.items())),
        }
        if group == "text_encoder":
            entry["encoders"] = sorted({m.encoder for m in members if m.encoder})
        out[group] = entry
    return out


def compress_ranges(values: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] → "0-2,5,7-8": block lists stay one short line."""
    parts: list[tuple[int, int]] = []
    for v in sorted(set(values)):
        if parts and parts[-1][1] == v - 1:
            parts[-1] = (parts[-1][0], v)
        else:
            parts.append((v, v))
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in parts)
