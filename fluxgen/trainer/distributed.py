"""Data parallel training for the builtin trainer, under `torch.distributed.run` (torchrun sets RANK/WORLD_SIZE).

Every rank draws the randomness of the whole global batch (batch × world size) from the step's seed and keeps its
own slice, and gradients are averaged over ranks before the optimizer step: N processes × batch b then train the
same LoRA as 1 process × batch N·b (up to float summation order). Rank 0 alone prints, saves and samples.
"""

from __future__ import annotations

import os
from typing import Any


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def setup() -> None:
    """Join the process group (NCCL on GPUs, gloo on a CPU) when started by torchrun with more than one process."""
    if world_size() <= 1:
        return
    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")


def teardown() -> None:
    if world_size() > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def shard(global_items: Any, per_rank: int) -> Any:
    """This rank's slice of something drawn for the global batch (a list or a tensor, batch first)."""
    start = rank() * per_rank
    return global_items[start:start + per_rank]


def average_gradients(params: list[Any]) -> None:
    """What DDP does, without wrapping the model: the mean of every LoRA gradient over the ranks."""
    if world_size() <= 1:
        return
    import torch.distributed as dist

    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad.div_(world_size())


def agree(loss: float, stopping: bool) -> tuple[float, bool]:
    """The global batch's mean loss, and whether any rank was asked to stop (so all stop at the same step)."""
    if world_size() <= 1:
        return loss, stopping
    import torch
    import torch.distributed as dist

    both = torch.tensor([loss, 1.0 if stopping else 0.0], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        both = both.cuda()
    dist.all_reduce(both, op=dist.ReduceOp.SUM)
    return float(both[0]) / world_size(), bool(both[1] > 0)
