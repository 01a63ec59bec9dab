"""Plan values only sd-scripts has, so every line of its rendered files still has a plan value and an origin."""

from __future__ import annotations

from fluxgen.rules import Resolver


def plan_settings(r: Resolver) -> None:
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
