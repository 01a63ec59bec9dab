"""Resolution, precision and the FLUX-specific training settings every backend shares."""

from __future__ import annotations

from fluxgen.rules import Resolver


def plan_training(r: Resolver) -> None:
    r.take("resolution", "train.resolution", [1024], "1024 px, FLUX's native size (seed:000)")
    r.take("precision", "train.precision", "bf16", "bf16 mixed precision (seed:001)")
    if r.values["precision"] == "fp16":
        r.warn("fp16 on FLUX: seed:001 says bf16 is required (Ampere or newer GPUs, RTX 3000 series on); FLUX.1 is "
               "a bf16 model and fp16 training risks overflow (NaN loss). Use train.precision: bf16", "seed:001")
    r.take("gradient_checkpointing", "train.gradient_checkpointing", True, "gradient checkpointing saves VRAM (seed:001)")
    r.take("guidance", "train.guidance", 1.0, "train FLUX dev with guidance 1.0 (seed:000)")
    r.values["guidance"] = float(r.values["guidance"])
    r.take("seed", "train.seed", 42, "a fixed seed so a run can be repeated (design card)")
    r.take("workers", "train.workers", 2, "2 data-loader workers (ref:sd-scripts §7)")
    r.planner.timesteps(r)
    if r.values["guidance"] != 1.0:
        r.warn(f"training guidance {r.values['guidance']:g}: FLUX dev LoRAs train with guidance 1.0", "seed:000")
    if max(r.values["resolution"]) < 1024:
        r.warn(f"resolution {max(r.values['resolution'])} px: the guides train FLUX at 1024 px", "seed:000",
               severity="info")
