"""multidatabackend.json as intent values: the image dataset (folder, captions, trigger, resolution, repeats,
crop) — the inverse of `files.datasets_list`. The text-embed cache is fluxgen's own; its entry is not imported."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.errors import UserError
from fluxgen.importer import Imported, Where, display, json_lines
from fluxgen.importer.common import absolute_folder

if TYPE_CHECKING:
    from fluxgen.backends.simple_tuner.importer import Config

IMAGE_TYPES = (None, "image")
HANDLED = {"id", "type", "dataset_type", "instance_data_dir", "caption_strategy", "caption_file_extensions",
           "instance_prompt", "resolution", "resolution_type", "repeats", "crop", "cache_dir_vae",
           "caption_dropout_probability", "disabled", "disable"}
FIXED = {"crop_aspect": "square", "crop_style": "center", "metadata_backend": "discovery"}  # files.datasets_list
CACHES = ("text_embeds", "image_embeds")  # fluxgen writes its own text-embed cache


def import_datasets(out: Imported, cfg: Config, path: Path) -> None:
    from fluxgen.fsio import read_text_file

    text = read_text_file(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise UserError(f"{path}: not a SimpleTuner dataset list (a JSON list of datasets)")
    src, lines = display(path), json_lines(text)
    images = [(i, d) for i, d in enumerate(data) if isinstance(d, dict) and d.get("dataset_type") in IMAGE_TYPES
              and not d.get("disabled") and not d.get("disable")]
    if not images:
        raise UserError(f"{path}: no image dataset (dataset_type image); nothing to train on")
    for i, d in images[1:]:
        out.leave_out(Where(src, lines.get(str(i), 0), f"{i}"), d.get("id"), "a second image dataset: the intent "
                      "has one image folder")
    for i, d in enumerate(data):
        if isinstance(d, dict) and d.get("dataset_type") not in (*IMAGE_TYPES, *CACHES):
            out.leave_out(Where(src, lines.get(str(i), 0), f"{i}"), d.get("id"), f"a {d.get('dataset_type')} "
                          "dataset: fluxgen trains a LoRA on one image folder")
    index, entry = images[0]
    w = lambda key: Where(src, lines.get(f"{index}.{key}", 0), f"{index}.{key}")  # noqa: E731
    if entry.get("type", "local") != "local":
        raise UserError(f"{w('type')}: a {entry['type']} dataset; fluxgen trains from a local image folder")
    if "instance_data_dir" in entry:
        out.set("dataset.path", absolute_folder(str(entry["instance_data_dir"]), cfg.folder, out),
                w("instance_data_dir"))
    repeats = int(entry.get("repeats") or 0)
    out.set("dataset.repeats", repeats + 1, w("repeats") if "repeats" in entry else "repeats absent: SimpleTuner "
            "shows each image once an epoch")
    crop = bool(entry.get("crop", False))
    out.set("dataset.buckets", not crop, w("crop") if "crop" in entry else "crop absent: SimpleTuner keeps the "
            "aspect ratio in buckets")
    if "caption_dropout_probability" in entry:
        out.set("train.caption_dropout", float(entry["caption_dropout_probability"]), w("caption_dropout_probability"))
    _captions(out, cfg, entry, w)
    _resolution(out, cfg, entry, w)
    _others(out, entry, w)


def _captions(out: Imported, cfg: Config, entry: dict[str, Any], w: Any) -> None:
    """textfile -> captions; instanceprompt -> the trigger alone, or no captions where fluxgen wrote its name
    with every caption dropped (files.datasets_list)."""
    strategy = entry.get("caption_strategy", "filename")
    if strategy == "textfile":
        exts = ["." + str(e).lstrip(".") for e in entry.get("caption_file_extensions") or [".txt"]]
        out.set("dataset.captions", "captions", w("caption_strategy"))
        # an image dataset's captions are <image>.txt whatever the list says (st:helpers/prompts.py:414)
        out.set("dataset.caption_ext", ".txt", w("caption_file_extensions") if exts == [".txt"]
                else "SimpleTuner reads an image's caption from <image>.txt")
        if exts != [".txt"]:
            out.leave_out(w("caption_file_extensions"), entry.get("caption_file_extensions"),
                          "SimpleTuner reads <image>.txt for an image dataset whatever this list says")
    elif strategy == "instanceprompt":
        prompt = str(entry.get("instance_prompt") or "")
        if out.values.get("train.caption_dropout") == 1.0:
            out.set("dataset.captions", "none", w("caption_strategy"))
        else:
            out.set("dataset.captions", "trigger", w("caption_strategy"))
            out.set("trigger", prompt, w("instance_prompt"))
    else:
        out.leave_out(w("caption_strategy"), strategy, "fluxgen reads caption files (textfile) or the trigger alone "
                      "(instanceprompt); the rules pick captions")


def _resolution(out: Imported, cfg: Config, entry: dict[str, Any], w: Any) -> None:
    """The side of a square of the same area (pixel_area, what fluxgen writes); megapixels (area) become that side
    rounded to SimpleTuner's 64 px buckets; pixel (the shorter edge) has no fluxgen counterpart."""
    res, where = (entry["resolution"], w("resolution")) if "resolution" in entry else \
        (cfg.get("resolution"), cfg.at("resolution"))
    rtype = entry.get("resolution_type", cfg.get("resolution_type"))
    if rtype == "pixel_area":
        out.set("train.resolution", [int(res)], where)
    elif rtype == "area":
        side = int(round(math.sqrt(float(res) * 1e6) / 64) * 64)
        out.set("train.resolution", [side], f"{where} ({res} megapixels as the side of a square, in 64 px buckets)")
    else:
        out.leave_out(where, res, f"resolution_type {rtype}: SimpleTuner sizes the shorter edge; fluxgen sizes by "
                      "area (pixel_area)")


def _others(out: Imported, entry: dict[str, Any], w: Any) -> None:
    for key, value in entry.items():
        if key in HANDLED or FIXED.get(key, object()) == value:
            continue
        out.carry(w(key), f"datasets.{key}", value)
