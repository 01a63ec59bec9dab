"""The dataset TOML's blocks: one `[[datasets]]` per resolution (sd-scripts reads one resolution per dataset), each
holding a `[[datasets.subsets]]` for every folder trained at it (reg folders as `is_reg = true` subsets), and the
refusals of what sd-scripts' ConfigSanitizer would reject."""

from __future__ import annotations

from typing import Any

from fluxgen.errors import UserError
from fluxgen.rules.datasets import Folder, folders

NO_CAPTION_EXT = ".fluxgen-no-captions"  # no file has it, so sd-scripts uses class_tokens for every image


def general_caption_extension(v: dict[str, Any]) -> str:
    return v["caption_ext"] if v["caption_mode"] == "captions" else NO_CAPTION_EXT


def subset(v: dict[str, Any], folder: Folder) -> dict[str, Any]:
    """One subset's keys; caption_extension only where it differs from `[general]`."""
    ext = folder.caption_ext if folder.caption_mode == "captions" else NO_CAPTION_EXT
    trigger = v["trigger"] if v["trigger"] and folder.caption_mode != "none" and not folder.is_reg else None
    return {"image_dir": folder.path, "num_repeats": folder.repeats, "is_reg": folder.is_reg,
            "caption_extension": ext if ext != general_caption_extension(v) else None,
            "conditioning_data_dir": folder.masks,
            "class_tokens": trigger if not folder.masks else None}  # a ControlNet-style subset takes no class_tokens


def blocks(v: dict[str, Any]) -> list[tuple[int, list[dict[str, Any]]]]:
    """(resolution, subsets) in the order the resolutions first appear."""
    every = folders(v)
    order = list(dict.fromkeys(res for folder in every for res in folder.resolution))
    return [(res, [subset(v, f) for f in every if res in f.resolution]) for res in order]


def expected_blocks(v: dict[str, Any]) -> dict[str, Any]:
    """Dotted paths of the parsed TOML and the values the plan wants there."""
    want: dict[str, Any] = {}
    for i, (res, subsets) in enumerate(blocks(v)):
        want |= {f"datasets.{i}.resolution": res, f"datasets.{i}.batch_size": v["batch_size"]}
        for j, s in enumerate(subsets):
            want |= {f"datasets.{i}.subsets.{j}.{k}": val for k, val in s.items() if val not in (None, False)}
    return want


def refuse(folders_: list[Folder]) -> None:
    """Masks make a subset ControlNet-style (`conditioning_data_dir`), which ConfigSanitizer accepts only when every
    subset of its dataset is one, and which has no `is_reg` (sd-scripts library/config_util.py)."""
    masked = [f for f in folders_ if f.masks]
    if not masked or len(folders_) == 1:
        return
    reg = [f for f in masked if f.is_reg]
    plain = [f for f in folders_ if not f.masks]
    if reg or plain:
        bad = (reg or plain)[0].key.replace(".path", ".masks")
        why = "is_reg" if reg else "no masks"
        raise UserError(f"{bad}: sd-scripts reads masks only as ControlNet-style subsets (conditioning_data_dir), "
                        "which must be every subset of a dataset and take no is_reg; this folder has "
                        f"{why}. Give every training folder masks and no regularisation folder, or set masks: none")
