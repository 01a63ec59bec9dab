"""Settings only one trainer has, so every line of its rendered file still has a plan value and an origin."""

from __future__ import annotations

from fluxgen.rules import Resolver


def plan_trainer_settings(r: Resolver) -> None:
    if r.backend == "builtin":
        _builtin(r)
    elif r.backend == "ai-toolkit":
        r.set("ema", True, "EMA of the LoRA weights, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")
        r.set("ema_decay", 0.99, "EMA decay of ai-toolkit's FLUX example (ref:ai-toolkit §3)")
        r.set("save_dtype", "float16", "LoRA files saved in float16, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")
        r.set("cache_latents", True, "latents cached to disk once, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")
        r.set("walk_seed", True, "prompt i samples with seed + i, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")
    elif r.backend == "sd-scripts":
        r.set("save_state", True, "training state saved with each checkpoint so `fluxgen resume` can continue "
              "(ref:sd-scripts §5)")
        r.set("keep_states", 2, "only the newest two training states are kept: each is as large as the LoRA plus the "
              "optimizer (ref:sd-scripts §5)")
        low, high = min(r.values["resolution"]), max(r.values["resolution"])
        r.set("bucket_no_upscale", True, "buckets never upscale small images (seed:001)")
        r.set("min_bucket_reso", min(256, low), "sd-scripts' default smallest bucket side 256, or the resolution if "
              "smaller: sd-scripts requires min_bucket_reso ≤ resolution (ref:sd-scripts §2)")
        r.set("max_bucket_reso", max(min(2 * high, 2048), high), "largest bucket side: twice the resolution, at "
              "most 2048, never below the resolution (ref:sd-scripts §2)")
        r.set("bucket_reso_steps", 64, "FLUX buckets need sides divisible by 64 (ref:sd-scripts §2)")
        r.set("persistent_workers", r.values["workers"] > 0, "keep data-loader workers between epochs "
              "(ref:sd-scripts §7)")


def _builtin(r: Resolver) -> None:
    """The builtin trainer square-crops, loads cached tensors in-process and picks its dtype from the device."""
    if not r.is_given("train.precision"):
        r.set("precision", "auto", "the builtin trainer picks bf16 on a GPU and fp32 on a CPU")
    r.set("buckets", False, "the builtin trainer centre-crops every image to a square (no aspect buckets)")
    r.values.pop("workers", None)
    r.origins.pop("workers", None)
