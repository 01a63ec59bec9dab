"""Captions, trigger and the style treatment; resolves sd-scripts' caching/caption-dropout conflict."""

from __future__ import annotations

from fluxgen.rules import Resolver

# Words a trigger must not be: the model already knows them, so the LoRA cannot own them (seed:000, seed:001).
COMMON_WORDS = {
    "style", "art", "artwork", "photo", "photograph", "painting", "drawing", "man", "woman", "person", "girl", "boy",
    "dog", "cat", "skull", "portrait", "anime", "cartoon", "illustration", "image", "picture", "character", "face",
    "the", "a", "an", "lora", "flux", "concept", "subject", "sks", "ohwx",
}
RARE_TOKEN_OK = {"sks", "ohwx"}  # the guides' own examples of rare tokens (seed:003)


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
    words = {w.strip(",.").lower() for w in trigger.split()}
    common = sorted((words & COMMON_WORDS) - RARE_TOKEN_OK)
    if common and len(words) == len(common):
        r.warn(f"trigger '{trigger}' is a common word the model already knows; use a rare made-up token "
               "such as CSKULL or zxy_style", "seed:000")
