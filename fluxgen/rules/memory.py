"""VRAM tiers; each backend's planner turns its tier into memory settings and an optimizer (ref:sd-scripts §7)."""

from __future__ import annotations

from fluxgen.rules import Resolver

TIERS = (8, 10, 12, 16, 24, 48, 80)


def tier_of(vram: int) -> int:
    """The largest documented tier not above the given VRAM (below 8 GB: the 8 GB tier)."""
    fitting = [t for t in TIERS if t <= vram]
    return fitting[-1] if fitting else TIERS[0]


def next_tier_down(tier: int) -> int | None:
    """The documented tier below this one, None at the lowest."""
    return next((t for t in reversed(TIERS) if t < tier), None)


def plan_memory(r: Resolver) -> None:
    vram = r.take("vram", "vram", 24, "24 GB, the guides' minimum for FLUX LoRA training (seed:004)")
    if vram < TIERS[0]:
        r.warn(f"{vram} GB VRAM: FLUX LoRA training is not expected to fit. The guides ask for 24 GB at least "
               f"(seed:004); the smallest documented setup is sd-scripts at {TIERS[0]} GB with block swapping "
               f"(ref:sd-scripts §7). {vram} GB is below the smallest documented tier ({TIERS[0]} GB): the files are "
               f"rendered with the {TIERS[0]} GB settings only so they can be read", "seed:004, ref:sd-scripts §7")
    tier = r.set("vram_tier", tier_of(vram), f"documented tier for {vram} GB (ref:sd-scripts §7)")
    r.planner.memory(r, tier)
    if tier >= LARGE_TIER:
        _large_card(r)


LARGE_TIER = 80  # GB: room for a second image per step and every model part unquantized on the GPU


def _large_card(r: Resolver) -> None:
    """What the 80 GB tier does with its memory, said in one line (the batch itself is set by the steps rule)."""
    used = ["no quantization, fp8 base, low-VRAM offloading or block swapping (every part stays on the GPU in bf16)"]
    if r.values["batch_size"] > 1 and not r.is_given("train.batch_size"):
        used.append(f"batch {r.values['batch_size']} with steps halved, so the image views stay the same")
    r.warn(f"{r.values['vram']} GB: the plan uses the memory: " + "; ".join(used) + " (seed:000: a batch of 2 "
           "or 4 could speed things up; quality-wise batch 1 is fine)", "seed:000", severity="info")
