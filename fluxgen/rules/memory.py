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
        r.warn(f"{vram} GB VRAM is below the smallest documented tier ({TIERS[0]} GB); the plan uses the {TIERS[0]} GB "
               "settings, which may still run out of memory (ref:sd-scripts §7)", "ref:sd-scripts §7")
    tier = r.set("vram_tier", tier_of(vram), f"documented tier for {vram} GB (ref:sd-scripts §7)")
    r.planner.memory(r, tier)
