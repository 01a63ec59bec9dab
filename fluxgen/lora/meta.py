"""What a LoRA's safetensors metadata says, whichever trainer wrote it.

sd-scripts writes `ss_*`, `modelspec.*` and `sshs_*` keys; ai-toolkit writes `training_info`, `software` and
its `meta:` section; diffusers writes `lora_adapter_metadata`; fluxgen records its own values as `fluxgen.*`
keys, a JSON `fluxgen` object, or `{"fluxgen": {...}}` inside sd-scripts' `ss_training_comment`.
"""

from __future__ import annotations

import json
from typing import Any

AI_TOOLKIT_KEYS = ("training_info", "software")
METADATA_GROUPS = ("fluxgen", "modelspec", "ss", "sshs", "ai_toolkit", "diffusers", "other")


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def group_metadata(md: dict[str, str]) -> dict[str, dict[str, str]]:
    """Split the flat metadata into the groups each writer uses, keys sorted inside a group."""
    groups: dict[str, dict[str, str]] = {g: {} for g in METADATA_GROUPS}
    for key in sorted(md):
        if key == "fluxgen" or key.startswith(("fluxgen.", "fluxgen_")):
            group = "fluxgen"
        elif key.startswith("modelspec."):
            group = "modelspec"
        elif key.startswith("ss_"):
            group = "ss"
        elif key.startswith("sshs_"):
            group = "sshs"
        elif key in AI_TOOLKIT_KEYS:
            group = "ai_toolkit"
        elif key == "lora_adapter_metadata":
            group = "diffusers"
        else:
            group = "other"
        groups[group][key] = md[key]
    return groups


def fluxgen_values(md: dict[str, str]) -> dict[str, Any]:
    """fluxgen's own record, merged from every place a trainer could carry it (explicit keys win)."""
    out: dict[str, Any] = {}
    comment = _json(md.get("ss_training_comment"))
    if isinstance(comment, dict) and isinstance(comment.get("fluxgen"), dict):
        out.update(comment["fluxgen"])
    nested = _json(md.get("fluxgen"))
    if isinstance(nested, dict):
        out.update(nested.get("fluxgen") if isinstance(nested.get("fluxgen"), dict) else nested)
    for key, value in md.items():
        if key.startswith(("fluxgen.", "fluxgen_")):
            out[key[len("fluxgen."):]] = value
    return out


def _as_int(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def find_trigger(md: dict[str, str], fx: dict[str, Any]) -> tuple[str | None, str | None]:
    """(trigger, where it was found); ss_tag_frequency only yields its most frequent tag."""
    if fx.get("trigger"):
        return str(fx["trigger"]), "fluxgen.trigger"
    if md.get("modelspec.trigger_phrase"):
        return md["modelspec.trigger_phrase"], "modelspec.trigger_phrase"
    freq = _json(md.get("ss_tag_frequency"))
    counts: dict[str, float] = {}
    if isinstance(freq, dict):
        for tags in freq.values():
            if isinstance(tags, dict):
                for tag, n in tags.items():
                    counts[tag] = counts.get(tag, 0) + (_as_float(n) or 0)
    if counts:
        best = max(counts, key=lambda t: counts[t])
        return best, "ss_tag_frequency (most frequent tag)"
    return None, None


def find_base_model(md: dict[str, str], fx: dict[str, Any]) -> tuple[str | None, str | None]:
    if fx.get("base_model"):
        return str(fx["base_model"]), "fluxgen.base_model"
    if md.get("ss_sd_model_name"):
        return md["ss_sd_model_name"], "ss_sd_model_name"
    arch = md.get("modelspec.architecture")
    if arch:
        return arch.removesuffix("/lora"), "modelspec.architecture"
    return None, None


def find_steps(md: dict[str, str], fx: dict[str, Any]) -> tuple[int | None, str | None]:
    if _as_int(fx.get("steps")) is not None:
        return _as_int(fx.get("steps")), "fluxgen.steps"
    info = _json(md.get("training_info"))
    if isinstance(info, dict) and _as_int(info.get("step")) is not None:
        return _as_int(info.get("step")), "training_info.step"
    if _as_int(md.get("ss_steps")) is not None:
        return _as_int(md.get("ss_steps")), "ss_steps"
    return None, None


def declared_rank_alpha(md: dict[str, str], fx: dict[str, Any]) -> tuple[int | None, float | None, str | None]:
    """Rank and alpha as the metadata states them (fluxgen, diffusers adapter config, sd-scripts)."""
    adapter = _json(md.get("lora_adapter_metadata"))
    adapter = adapter if isinstance(adapter, dict) else {}
    a_rank = next((v for k, v in adapter.items() if k == "r" or k.endswith(".r")), None)
    a_alpha = next((v for k, v in adapter.items() if k.endswith("lora_alpha")), None)
    candidates = (
        (fx.get("rank"), fx.get("alpha"), "fluxgen.alpha"),
        (a_rank, a_alpha, "lora_adapter_metadata"),
        (md.get("ss_network_dim"), md.get("ss_network_alpha"), "ss_network_alpha"),
    )
    rank = next((_as_int(r) for r, _, _ in candidates if _as_int(r) is not None), None)
    for _, alpha, source in candidates:
        if _as_float(alpha) is not None:
            return rank, _as_float(alpha), source
    return rank, None, None
