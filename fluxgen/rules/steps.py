"""How long to train, how fast, how often to save: the per-image step rule and the learning-rate rule."""

from __future__ import annotations

import math

from fluxgen.errors import UserError
from fluxgen.origin import extend
from fluxgen.rules import Resolver

LONG_RUN_STEPS = 3000


def plan_steps(r: Resolver) -> None:
    from fluxgen.rules.datasets import epoch_views

    images = r.values.get("source_images") or r.values["images"]
    spi = r.take("steps_per_image", "train.steps_per_image", 100,
                 "about 100 image views per image (design card, seed:000)")
    batch = _batch(r) * (r.given("train.gradient_accumulation") or 1)
    given = r.given("train.steps")
    if given is None or given == "auto":
        if images == 0:
            raise UserError(f"{r.values['dataset']}: no training images found, so `steps: auto` has nothing to count; "
                            "add images or give train.steps")
        views, counted = epoch_views(r)
        r.set("steps", math.ceil(spi * views / batch),
              f"steps = {spi} × {counted} = {spi * views} image views ÷ batch {batch} (steps count image views: "
              f"each step shows batch_size × gradient_accumulation images) (design card, seed:000)")
        if given == "auto":
            r.origins["steps"] = extend(r.origins["steps"], f"; 'auto' from "
                                           f"{r.layered.origins.get('train.steps', 'intent')}")
        _kind_range(r, images)
    else:
        r.take("steps", "train.steps", None, "")
    steps = r.values["steps"]
    if steps > LONG_RUN_STEPS:
        lr_default, lr_why = 5e-5, f"lower LR 5e-5 for a long run (> {LONG_RUN_STEPS} steps) (seed:000)"
    else:
        lr_default, lr_why = 1e-4, "LR 1e-4 (seed:000)"
    lr = r.take("lr", "train.lr", lr_default, lr_why)
    r.values["lr"] = float(lr)
    r.take("lr_scheduler", "train.scheduler", "constant", "constant learning rate is fine for FLUX LoRAs (seed:000)")
    r.take("warmup_steps", "train.warmup_steps", 0, "no warm-up with a constant schedule (seed:000)")
    save_every = r.take("save_every", "save.every", 250, "save every 250 steps to pick the best checkpoint (design card, seed:000)")
    r.take("keep_checkpoints", "save.keep", max(1, math.ceil(steps / save_every)),
           "keep every step checkpoint so the best one can be chosen (seed:000)")
    _advise(r, steps)


def _batch(r: Resolver) -> int:
    """Batch 1 (seed:000), or 2 on an 80 GB card, which holds it (the steps then halve: image views are kept)."""
    from fluxgen.rules.memory import LARGE_TIER

    vram = r.given("vram")
    if vram is not None and vram >= LARGE_TIER:
        return r.take("batch_size", "train.batch_size", 2, f"batch 2 at {LARGE_TIER} GB or more: the memory holds it "
                      "and steps count image views, so the plan's image views are kept (seed:000)")
    return r.take("batch_size", "train.batch_size", 1, "batch 1 (design card, seed:000)")


# What the guides say about the length of a run per kind: (low, high, source) each, all shown in the origin.
STEP_RANGES = {
    "character": [(800, 1200, "seed:003 (faces and characters)"), (1000, 3000, "seed:004 (characters)")],
    "style": [(500, 500, "seed:001 (15–30 images)"), (3000, 3000, "seed:000 (~50 images)"),
              (2000, 5000, "seed:004 (styles)")],
}


def _kind_range(r: Resolver, images: int) -> None:
    """A character or style run counted by images is one choice among the guides' ranges: show them all, and say
    when the count falls outside every one (the preset can pin `train.steps` instead)."""
    ranges = STEP_RANGES.get(r.kind)
    if not ranges:
        return
    shown = "; ".join(f"{lo}" + (f"–{hi}" if hi != lo else "") + f" in {src}" for lo, hi, src in ranges)
    r.origins["steps"] = extend(r.origins["steps"], f"; the {r.kind} guides say: {shown}")
    steps = r.values["steps"]
    if not any(lo * 0.8 <= steps <= hi * 1.25 for lo, hi, _ in ranges):
        r.warn(f"{steps} steps for a {r.kind} from {images} images is outside what the guides use ({shown}); "
               "set train.steps to pick one", "seed:003, seed:004" if r.kind == "character" else
               "seed:000, seed:001, seed:004", severity="info")


def _advise(r: Resolver, steps: int) -> None:
    lr = r.values["lr"]
    if steps > LONG_RUN_STEPS and lr >= 1e-4:
        r.warn(f"{steps} steps at LR {lr:g}: long runs want a lower LR (5e-5 … 1e-5)", "seed:000")
    if lr > 2e-4:
        r.warn(f"LR {lr:g} is above 2e-4, which the character guide calls risky (burned, over-saturated outputs)",
               "seed:003")
    images = r.values.get("source_images") or r.values["images"]
    if images and steps / images > 300:
        r.warn(f"{steps / images:.0f} steps per image: far above ~100, expect overfitting", "seed:000")
    if r.values["save_every"] > steps:
        r.warn(f"save every {r.values['save_every']} steps but the run has {steps}: only the final LoRA is saved",
               "seed:000", severity="info")
