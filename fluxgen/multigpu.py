"""`fluxgen train --gpus N`: what each trainer does with several GPUs of one machine, one function per backend.

A multi-GPU plan keeps the images the run sees as planned: every step now takes batch × N images (data parallel:
global batch = batch × N × accumulation), so steps, saves, samples and warm-up are divided by N (rounded up), each
origin saying so. The launcher change (accelerate's --multi_gpu, torchrun) is made where the backend builds its
command, from the plan's `gpus` value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fluxgen.errors import UserError

RESCALED = ("steps", "save_every", "sample_every", "warmup_steps")


def for_gpus(plan: Any, gpus: int | None) -> Any:
    """The plan for N GPUs (the plan itself for one), or a UserError naming the alternatives."""
    if not gpus or gpus == 1:
        return plan
    handler = PLANNERS.get(plan.backend)
    if handler is None:
        raise UserError(f"--gpus {gpus}: fluxgen does not know how {plan.backend} trains on several GPUs; use "
                        "--gpus 1, or `fluxgen sweep` with one run per GPU")
    return handler(plan, gpus)


def launch_argv(plan: Any, argv: list[str]) -> list[str]:
    """The backend's argv for the plan's GPU count (unchanged for one GPU)."""
    gpus = int(plan.values.get("gpus") or 1)
    return argv if gpus == 1 else LAUNCHERS[plan.backend](argv, gpus)


def _rescaled(plan: Any, gpus: int, why: str) -> Any:
    from fluxgen.plan import Plan

    values, origins = dict(plan.values), dict(plan.origins)
    values["gpus"] = gpus
    origins["gpus"] = f"--gpus {gpus} on the command line"
    for key in RESCALED:
        if isinstance(values.get(key), int) and values[key] > 0:
            before = values[key]
            values[key] = math.ceil(before / gpus)
            origins[key] = f"{before} ÷ {gpus} GPUs, rounded up: {why} ({origins.get(key, 'plan')})"
    return Plan(values, origins, list(plan.warnings), dict(plan.intent), list(plan.chain), plan.dataset_lint)


def _sd_scripts(plan: Any, gpus: int) -> Any:
    return _rescaled(plan, gpus, "sd-scripts with N processes takes batch × N images per step and divides the "
                                 "steps of an epoch by N (ref:sd-scripts §3)")


def _builtin(plan: Any, gpus: int) -> Any:
    return _rescaled(plan, gpus, "the builtin trainer's data parallel takes batch × N images per step")


def _ai_toolkit(plan: Any, gpus: int) -> Any:
    raise UserError(f"--gpus {gpus}: ai-toolkit has no data parallelism at its pin (its data loader is never "
                    "split across processes: jobs/process/BaseSDTrainProcess.py:777 leaves "
                    "accelerator.prepare(self.data_loader) commented out; ref:user-needs §1.7); train one variant "
                    "per GPU with `fluxgen sweep INTENT --grid KEY=V1,V2` (the local executor gives each run its own "
                    "GPU), or, for a model that does not fit one GPU, set `split_model_over_gpus: true` under model: "
                    "in ai-toolkit's config (ref:ai-toolkit §2); or train with --backend sd-scripts or builtin")


def _accelerate_multi_gpu(argv: list[str], gpus: int) -> list[str]:
    """`accelerate launch --num_processes 1` → `--multi_gpu --num_processes N`."""
    out = list(argv)
    at = out.index("--num_processes")
    out[at + 1] = str(gpus)
    out.insert(at, "--multi_gpu")
    return out


def _torchrun(argv: list[str], gpus: int) -> list[str]:
    """`python -m fluxgen.trainer …` → `python -m torch.distributed.run --standalone --nproc_per_node N -m …`."""
    at = argv.index("-m")
    return [*argv[:at], "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(gpus), *argv[at:]]


PLANNERS: dict[str, Callable[[Any, int], Any]] = {"sd-scripts": _sd_scripts, "builtin": _builtin,
                                                  "ai-toolkit": _ai_toolkit}
LAUNCHERS: dict[str, Callable[[list[str], int], list[str]]] = {"sd-scripts": _accelerate_multi_gpu,
                                                               "builtin": _torchrun}
