"""ai-toolkit `datasets` entries of several folders (or with `is_reg`) as the intent's `datasets:` list, each
value with the file:line it came from."""

from __future__ import annotations

from typing import Any

from fluxgen.backends.ai_toolkit.importer import DATASET, NO_CAPTIONS, _Ctx, _plain, workers
from fluxgen.importer.common import absolute_folder


def several(ctx: _Ctx, entries: list[dict[str, Any]]) -> None:
    """Several folders (or a reg folder): one intent `datasets:` entry each (entries that differ only in resolution
    are one, their resolutions merged); the settings fluxgen writes the same in every entry (caption dropout,
    shuffling, buckets) are read from the first training folder."""
    first = next((d for d in entries if not d.get("is_reg")), entries[0])
    at = entries.index(first)
    ctx.used.update(k for k in ctx.leaves if k.startswith("datasets"))
    for key, intent_key in DATASET.items():
        if key != "num_repeats" and key in first:
            ctx.out.set(intent_key, _plain(first[key]), ctx.where(f"datasets.{at}.{key}"))
    groups: list[tuple[dict[str, Any], list[int], int]] = []  # (entry without resolution, resolutions, first index)
    for i, d in enumerate(entries):
        rest = {k: v for k, v in d.items() if k != "resolution"}
        res = d.get("resolution", ctx.default("datasets[].resolution"))
        group = next((g for g in groups if g[0] == rest), None)
        if group is None:
            group = (rest, [], i)
            groups.append(group)
        group[1].extend(r for r in (res if isinstance(res, list) else [res]) if r not in group[1])
        if i == at:
            train_res = group[1]
    ctx.out.set("train.resolution", sorted(train_res), ctx.where(f"datasets.{at}.resolution"))
    workers(ctx, entries[0], lambda name: ctx.where(f"datasets.0.{name}"))
    for n, (d, res, i) in enumerate(groups):
        _entry(ctx, f"datasets.{n}.", f"datasets.{i}.", d, sorted(res))


def _entry(ctx: _Ctx, key: str, src: str, d: dict[str, Any], resolution: list[int]) -> None:
    """The intent entry at `key` (`datasets.1.`) from the file's dataset entry at `src`."""
    w = lambda name: ctx.where(src + name)  # noqa: E731
    ctx.out.set(key + "path", absolute_folder(str(d.get("folder_path", "")), ctx.folder, ctx.out), w("folder_path"))
    if d.get("is_reg"):
        ctx.out.set(key + "is_reg", True, w("is_reg"))
    ctx.out.set(key + "repeats", int(d.get("num_repeats", 1)), w("num_repeats") if "num_repeats" in d
                else "num_repeats absent: ai-toolkit's default")
    ctx.out.set(key + "resolution", resolution, w("resolution"))
    ext = str(d.get("caption_ext", ctx.default("datasets[].caption_ext")))
    if ext == NO_CAPTIONS:
        ctx.out.set(key + "captions", "trigger" if d.get("default_caption") == "[trigger]" else "none",
                    w("default_caption"))
    else:
        ctx.out.set(key + "captions", "captions", w("caption_ext"))
        ctx.out.set(key + "caption_ext", "." + ext.lstrip("."), w("caption_ext"))
    if d.get("mask_path"):
        ctx.out.set(key + "masks", absolute_folder(str(d["mask_path"]), ctx.folder, ctx.out), w("mask_path"))
    known = (*DATASET, "folder_path", "resolution", "caption_ext", "default_caption", "cache_latents_to_disk",
             "is_reg", "mask_path", "num_workers")
    for name, value in d.items():
        if name not in known:
            ctx.out.leave_out(w(name), value, "no intent key; fluxgen's rendered dataset does not set it")
