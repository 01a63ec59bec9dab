"""`fluxgen train --gpus N`: the common part of data-parallel training; each backend says what it does with
several GPUs (`Backend.plan_for_gpus`, `Backend.argv_for_gpus`) using the helpers here.

A multi-GPU plan keeps the images the run sees as planned: every step now takes batch × N images (data parallel:
global batch = batch × N × accumulation), so steps, saves, samples and warm-up are divided by N (rounded up), each
origin saying so. The launcher change (accelerate's --multi_gpu, torchrun) is made where the backend builds its
command, from the plan's `gpus` value.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fluxgen.plan import Plan

RESCALED = ("steps", "save_every", "sample_every", "warmup_steps")


def for_gpus(plan: Plan, gpus: int | None) -> Plan:
    """The plan for N GPUs (the plan itself for one), or a UserError naming the alternatives."""
    if not gpus or gpus == 1:
        return plan
    from fluxgen.backends import get_backend

    return get_backend(plan.backend).plan_for_gpus(plan, gpus)


def launch_argv(plan: Plan, argv: list[str]) -> list[str]:
    """The backend's argv for the plan's GPU count (unchanged for one GPU)."""
    from fluxgen.backends import get_backend

    gpus = int(plan.values.get("gpus") or 1)
    return argv if gpus == 1 else get_backend(plan.backend).argv_for_gpus(argv, gpus)


def rescaled(plan: Plan, gpus: int, why: str) -> Plan:
    """Steps, saves, samples and warm-up divided by N (rounded up), so the run sees the images as planned."""
    from fluxgen.origin import Origin
    from fluxgen.plan import Plan

    values, origins = dict(plan.values), dict(plan.origins)
    values["gpus"] = gpus
    origins["gpus"] = Origin(f"--gpus {gpus} on the command line", "command line")
    for key in RESCALED:
        if isinstance(values.get(key), int) and values[key] > 0:
            before = values[key]
            values[key] = math.ceil(before / gpus)
            origins[key] = f"{before} ÷ {gpus} GPUs, rounded up: {why} ({origins.get(key, 'plan')})"
    return Plan(values, origins, list(plan.warnings), dict(plan.intent), list(plan.chain), plan.dataset_lint)


def accelerate_multi_gpu(argv: list[str], gpus: int) -> list[str]:
    """`accelerate launch --num_processes 1` → `--multi_gpu --num_processes N`."""
    out = list(argv)
    at = out.index("--num_processes")
    out[at + 1] = str(gpus)
    out.insert(at, "--multi_gpu")
    return out


def torchrun(argv: list[str], gpus: int) -> list[str]:
    """`python -m fluxgen.trainer …` → `python -m torch.distributed.run --standalone --nproc_per_node N -m …`."""
    at = argv.index("-m")
    return [*argv[:at], "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(gpus), *argv[at:]]
