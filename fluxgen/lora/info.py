"""`inspect_lora`: everything a LoRA file says about itself, and what it fails to say."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fluxgen.lora import keys, meta
from fluxgen.lora.header import SafetensorsHeader, read_header, read_scalars


@dataclass
class LoraInfo:
    """The facts `fluxgen lora inspect` shows; `to_dict()` is its stable `--json` form."""

    path: str
    format: str  # peft/diffusers | kohya | mixed | unknown
    tensors: int
    parameters: int
    size_bytes: int
    ranks: dict[str, int]  # rank -> number of modules
    alpha: dict[str, Any]  # {"source": str | None, "values": {alpha: modules}}
    dtypes: dict[str, int]  # dtype -> number of tensors
    modules: dict[str, dict]  # per block type: modules, blocks, submodules
    metadata: dict[str, dict[str, str]]  # grouped raw metadata
    fluxgen: dict[str, Any]
    trigger: str | None
    base_model: str | None
    steps: int | None
    warnings: list[str] = field(default_factory=list)
    sources: dict[str, str | None] = field(default_factory=dict)  # trigger/base_model/steps -> metadata key

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _num(value: float) -> str:
    return f"{value:g}"


def _histogram(values: list[float]) -> dict[str, int]:
    return {_num(v): n for v, n in sorted(Counter(values).items())}


def inspect_lora(path: Path) -> LoraInfo:
    """Read only the header (and the `.alpha` scalars): instant even for large files, no torch."""
    header = read_header(Path(path))
    modules, unknown, lycoris = keys.collect_modules(header.tensors)
    lora_modules = {n: m for n, m in modules.items() if m.down is not None or m.up is not None}
    families = {f for m in lora_modules.values() for f in m.families}
    fmt = families.pop() if len(families) == 1 else ("mixed" if families else "unknown")
    md = header.metadata
    fx = meta.fluxgen_values(md)
    trigger, trigger_src = meta.find_trigger(md, fx)
    base, base_src = meta.find_base_model(md, fx)
    steps, steps_src = meta.find_steps(md, fx)
    ranks = [m.rank for m in lora_modules.values() if m.rank is not None]
    info = LoraInfo(
        path=str(path),
        format=fmt,
        tensors=len(header.tensors),
        parameters=sum(t.numel for t in header.tensors.values()),
        size_bytes=header.size_bytes,
        ranks={str(int(k)): v for k, v in _histogram(ranks).items()},
        alpha=_alpha(header, lora_modules, fmt, md, fx),
        dtypes=dict(sorted(Counter(t.dtype for t in header.tensors.values()).items())),
        modules=keys.summarize_groups(lora_modules),
        metadata=meta.group_metadata(md),
        fluxgen=fx,
        trigger=trigger,
        base_model=base,
        steps=steps,
        sources={"trigger": trigger_src, "base_model": base_src, "steps": steps_src},
    )
    info.warnings = _warnings(info, lora_modules, unknown, lycoris, meta.declared_rank_alpha(md, fx)[0])
    return info


def _alpha(header: SafetensorsHeader, modules: dict[str, keys.Module], fmt: str,
           md: dict[str, str], fx: dict[str, Any]) -> dict[str, Any]:
    """Alpha from `.alpha` tensors, else the metadata, else "= rank" for peft keys (which store none)."""
    entries = [m.alpha for m in modules.values() if m.alpha is not None]
    if entries:
        return {"source": "tensors", "values": _histogram(list(read_scalars(header, entries).values()))}
    _, declared, source = meta.declared_rank_alpha(md, fx)
    if declared is not None:
        return {"source": source, "values": {_num(declared): len(modules)}}
    if fmt == keys.PEFT:
        ranks = [m.rank for m in modules.values() if m.rank is not None]
        return {"source": "= rank", "values": _histogram(ranks)}
    return {"source": None, "values": {}}


def _warnings(info: LoraInfo, modules: dict[str, keys.Module], unknown: list[str], lycoris: int,
              declared_rank: int | None) -> list[str]:
    """Plain-language flags for what is missing or unusual, most serious first."""
    out: list[str] = []
    if not modules:
        kind = " (LoHa/LoKr LyCORIS tensors, which fluxgen does not read)" if lycoris else ""
        out.append(f"no LoRA tensors found among {info.tensors} tensors{kind}: this is not a LoRA file")
        return out
    if info.format == "mixed":
        out.append("both peft/diffusers and kohya key names in one file: most loaders expect one format")
    odd = [m.name for m in modules.values() if keys.unexpected_prefix(m)]
    if odd:
        out.append(f"{len(odd)} modules have an unexpected key prefix (e.g. '{odd[0]}'); loaders may skip them")
    half = [m.name for m in modules.values() if m.down is None or m.up is None]
    if half:
        out.append(f"{len(half)} modules lack their down or up weight (e.g. '{half[0]}'): the file is incomplete")
    if unknown and not lycoris:
        out.append(f"{len(unknown)} tensors are not LoRA weights (e.g. '{unknown[0]}')")
    if len(info.ranks) > 1:
        hist = ", ".join(f"{r} ×{n}" for r, n in info.ranks.items())
        out.append(f"mixed ranks across modules ({hist}): merge and resize tools often assume one rank")
    out += _alpha_warnings(info)
    if declared_rank is not None and info.ranks and list(info.ranks) != [str(declared_rank)]:
        out.append(f"metadata says rank {declared_rank} but the tensors have rank {', '.join(info.ranks)}")
    if info.trigger is None:
        out.append("no trigger recorded (fluxgen.trigger, modelspec.trigger_phrase, ss_tag_frequency): "
                   "note the trigger word somewhere, users of this file cannot guess it")
    if info.base_model is None:
        out.append("no base model recorded (fluxgen.base_model, ss_sd_model_name, modelspec.architecture)")
    if info.steps is None:
        out.append("no step count recorded (fluxgen.steps, training_info, ss_steps)")
    te = info.modules["text_encoder"]
    if te["modules"]:
        count = f"{te['modules']} module" + ("s" if te["modules"] > 1 else "")
        out.append(f"text-encoder LoRA present ({count}, {', '.join(te['encoders'])}): "
                   "loaders that apply only the transformer part ignore it")
    return out


def _alpha_warnings(info: LoraInfo) -> list[str]:
    alpha = info.alpha
    if alpha["source"] is None and info.format == keys.KOHYA:
        return ["no .alpha tensors and no alpha in the metadata: loaders then use alpha = rank (scale 1)"]
    if alpha["source"] == "tensors" and len(alpha["values"]) > 1:
        return [f"alpha varies across modules ({', '.join(alpha['values'])})"]
    if info.format == keys.PEFT and alpha["source"] in ("fluxgen.alpha", "ss_network_alpha"):
        if any("fluxgen.lora_B_scaled_by" in group for group in info.metadata.values()):
            return []  # the builtin trainer folded alpha/rank into lora_B: loading at scale 1 is what it trained
        if list(alpha["values"]) != list(info.ranks):
            return [f"metadata says alpha {', '.join(alpha['values'])} but peft keys store no alpha: "
                    "diffusers loads it with alpha = rank (scale 1)"]
    return []
