"""Resolution, precision and the FLUX-specific training settings every backend shares."""

from __future__ import annotations

from fluxgen.rules import Resolver

# sd-scripts' documented FLUX recipe (ref:sd-scripts §7): shift sampling with this flow shift, raw prediction.
SD_SCRIPTS_FLOW_SHIFT = 3.1582


def plan_training(r: Resolver) -> None:
    r.take("resolution", "train.resolution", [1024], "1024 px, FLUX's native size (seed:000)")
    r.take("precision", "train.precision", "bf16", "bf16 mixed precision (seed:001)")
    r.take("gradient_checkpointing", "train.gradient_checkpointing", True, "gradient checkpointing saves VRAM (seed:001)")
    r.take("guidance", "train.guidance", 1.0, "train FLUX dev with guidance 1.0 (seed:000)")
    r.values["guidance"] = float(r.values["guidance"])
    r.take("seed", "train.seed", 42, "a fixed seed so a run can be repeated (design card)")
    r.take("workers", "train.workers", 2, "2 data-loader workers (ref:sd-scripts §7)")
    if r.backend == "sd-scripts":
        r.take("timestep_sampling", "train.timestep_sampling", "shift",
               "shift timestep sampling, the documented FLUX setting (ref:sd-scripts §7)")
        if r.values["timestep_sampling"] == "shift":
            r.set("discrete_flow_shift", SD_SCRIPTS_FLOW_SHIFT, "flow shift of the documented FLUX setting (ref:sd-scripts §7)")
        r.set("model_prediction_type", "raw", "raw prediction, the documented FLUX setting (ref:sd-scripts §7)")
    elif r.backend == "ai-toolkit":
        r.take("timestep_sampling", "train.timestep_sampling", "sigmoid",
               "ai-toolkit's default timestep type for FLUX (ref:ai-toolkit §2.3)")
    else:
        r.take("timestep_sampling", "train.timestep_sampling", "sigmoid",
               "sigmoid timestep sampling, as ai-toolkit's default (ref:ai-toolkit §2.3)")
    if r.values["guidance"] != 1.0:
        r.warn(f"training guidance {r.values['guidance']:g}: FLUX dev LoRAs train with guidance 1.0", "seed:000")
    if max(r.values["resolution"]) < 1024:
        r.warn(f"resolution {max(r.values['resolution'])} px: the guides train FLUX at 1024 px", "seed:000",
               severity="info")
