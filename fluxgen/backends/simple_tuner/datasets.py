"""Checks of `multidatabackend.json`: SimpleTuner keeps no schema for dataset entries and ignores keys it does not
read, so an unknown key is a warning (with the key it was probably meant to be); the values its config classes
reject at start-up (st:data_backend/config) are errors."""

from __future__ import annotations

from typing import Any

from fluxgen.backends.simple_tuner.keys import KEYS
from fluxgen.validate.report import Finding, describe, did_you_mean

IMAGE_TYPES = {"image", "conditioning", "eval", "video", "caption", "audio"}


def check_datasets(data: Any) -> list[Finding]:
    if not isinstance(data, list) or not data:
        return [Finding("error", "(top)", "multidatabackend.json is a non-empty JSON list of datasets",
                        "write [{\"id\": \"images\", \"type\": \"local\", …}]", "shape")]
    found: list[Finding] = []
    for index, entry in enumerate(data):
        found += _entry(index, entry)
    return found


def _entry(index: int, entry: Any) -> list[Finding]:
    facts = KEYS["dataset"]
    if not isinstance(entry, dict):
        return [Finding("error", f"[{index}]", f"a dataset is a JSON object, not {describe(entry)}", "", "shape")]
    where = f"[{index}]({entry.get('id', '?')})"
    found: list[Finding] = []
    if "id" not in entry:
        found.append(Finding("error", where, "no id: SimpleTuner's dataset config needs one", "add \"id\"", "id"))
    for key in entry:
        if key not in facts["keys"]:
            found.append(Finding("warning", f"{where}.{key}", "SimpleTuner does not read this key; it is ignored"
                                 + did_you_mean(key, facts["keys"]), "remove it or fix its name", "unknown-key"))
    kind = entry.get("dataset_type", "image")
    if kind not in facts["dataset_types"]:
        found.append(Finding("error", f"{where}.dataset_type", f"'{kind}' is not a dataset type"
                             + did_you_mean(str(kind), facts["dataset_types"]),
                             "one of: " + ", ".join(facts["dataset_types"]), "choice"))
    elif kind in IMAGE_TYPES:
        found += _image_entry(where, entry)
    return found


def _choice(where: str, entry: dict[str, Any], key: str, choices: list[str]) -> list[Finding]:
    value = entry.get(key)
    if value is None or value in choices:
        return []
    return [Finding("error", f"{where}.{key}", f"{value!r} is not one of SimpleTuner's choices"
                    + did_you_mean(str(value), choices), "one of: " + ", ".join(choices), "choice")]


def _image_entry(where: str, entry: dict[str, Any]) -> list[Finding]:
    facts = KEYS["dataset"]
    found = _choice(where, entry, "resolution_type", facts["resolution_types"])
    found += _choice(where, entry, "crop_aspect", facts["crop_aspects"])
    found += _choice(where, entry, "crop_style", facts["crop_styles"])
    found += _sizes(where, entry)
    strategy, meta, kind = entry.get("caption_strategy"), entry.get("metadata_backend"), entry.get("type", "local")
    if strategy == "parquet" and meta in ("json", "discovery"):
        found.append(Finding("error", f"{where}.caption_strategy", f"parquet captions cannot be read with "
                             f"metadata_backend {meta} (SimpleTuner's start-up check)", "use textfile captions",
                             "conflict"))
    if strategy in ("huggingface", "webshart") and kind != strategy:
        found.append(Finding("error", f"{where}.caption_strategy", f"caption_strategy {strategy} needs type "
                             f"{strategy} (SimpleTuner's start-up check)", f"set \"type\": \"{strategy}\"",
                             "conflict"))
    return found


def _sizes(where: str, entry: dict[str, Any]) -> list[Finding]:
    """maximum_image_size needs target_downsample_size; pixels are at least 512, megapixels below 20."""
    found = []
    largest, target, rtype = entry.get("maximum_image_size"), entry.get("target_downsample_size"), \
        entry.get("resolution_type")
    if largest and not target:
        found.append(Finding("error", f"{where}.target_downsample_size", "maximum_image_size needs "
                             "target_downsample_size (SimpleTuner's start-up check)", "add target_downsample_size",
                             "conflict"))
    for key, value in (("maximum_image_size", largest), ("target_downsample_size", target)):
        if not isinstance(value, int | float) or isinstance(value, bool) or not value:
            continue
        if rtype == "area" and value >= 20:
            found.append(Finding("error", f"{where}.{key}", f"{value} is in megapixels with resolution_type area "
                                 "and must be below 20 (SimpleTuner's start-up check)", "give megapixels", "size"))
        elif rtype == "pixel" and value < 512:
            found.append(Finding("error", f"{where}.{key}", f"{value} is in pixels with resolution_type pixel and "
                                 "must be at least 512 (SimpleTuner's start-up check)", "give pixels", "size"))
    return found
