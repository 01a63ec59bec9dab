"""Captions, trigger and the style treatment (a trainer that caches text outputs settles its conflicts with caption
dropout in its planner's `captions` hook)."""

from __future__ import annotations

from fluxgen.rules import Resolver


def plan_captions(r: Resolver) -> None:
    style = r.kind == "style"
    mode_default = ("trigger", "style: the trigger alone as caption, no descriptions (seed:000)") if style else (
        "captions", "describe each image and put the trigger in every caption (seed:000)")
    mode = r.take("caption_mode", "dataset.captions", *mode_default)
    if mode == "trigger" and not r.values["trigger"]:
        mode = r.set("caption_mode", "none", "trigger-only captions need a trigger word; without one: no captions "
                     "(seed:000)")
    r.take("caption_ext", "dataset.caption_ext", ".txt", "captions are <image name>.txt files (seed:000)")
    if not r.values["caption_ext"].startswith("."):
        r.values["caption_ext"] = "." + r.values["caption_ext"]
    r.take("repeats", "dataset.repeats", 1, "each image once per epoch; steps are set directly (design card)")
    r.take("buckets", "dataset.buckets", True, "aspect-ratio buckets, the trainers' default (ref:ai-toolkit §2.3)")
    r.take("shuffle_captions", "train.shuffle_captions", False, "keep caption order: the trigger stays first (seed:000)")
    if style:
        r.take("caption_dropout", "train.caption_dropout", 0.1,
               "styles learn well without captions, so drop them more often (seed:000)")
        r.set("content_or_style", "style", "style treatment: bias timesteps toward style (seed:000, ref:ai-toolkit §2.3)")
    else:
        r.take("caption_dropout", "train.caption_dropout", 0.05, "5% caption dropout as in ai-toolkit's FLUX example (ref:ai-toolkit §3)")
        r.set("content_or_style", "balanced", "balanced timesteps for a subject (ref:ai-toolkit §2.3)")
    r.values["caption_dropout"] = float(r.values["caption_dropout"])
    r.planner.captions(r)
    _trigger_advice(r, mode)


def _trigger_advice(r: Resolver, mode: str) -> None:
    trigger = r.values["trigger"]
    if not trigger:
        if mode != "none":
            r.warn("no trigger word: the LoRA will be always on and cannot be called by name", "seed:000")
        return
    # a trigger made of common words is reported once, by the dataset lint (`trigger-common`) that planning runs
