"""Plan values only ai-toolkit has, so every line of its rendered file still has a plan value and an origin."""

from __future__ import annotations

from fluxgen.rules import Resolver


def plan_settings(r: Resolver) -> None:
    r.set("ema", True, "EMA of the LoRA weights, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")
    r.set("ema_decay", 0.99, "EMA decay of ai-toolkit's FLUX example (ref:ai-toolkit §3)")
    r.set("save_dtype", "float16", "LoRA files saved in float16, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")
    r.set("cache_latents", True, "latents cached to disk once, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")
    r.set("walk_seed", True, "prompt i samples with seed + i, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")
