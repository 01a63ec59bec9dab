"""Which torch build an environment gets: from the CUDA version the NVIDIA driver reports, or CPU without one.

`cpu` installs the build the package index serves by default: on Linux that is a CUDA build, which runs on the CPU
once triton is removed, and it is the one ai-toolkit's pinned torchvision wheel is built against (a CPU-only torch
from download.pytorch.org breaks torchvision's operators there)."""

from __future__ import annotations

import re
import shutil
import subprocess

from fluxgen.errors import UserError

CHOICES = ("auto", "cpu", "cu126", "cu128", "cu130")
INDEX = "https://download.pytorch.org/whl/{tag}"
# Newest build first: (lowest driver CUDA version it runs on, tag).
_BUILDS = (((13, 0), "cu130"), ((12, 8), "cu128"), ((12, 6), "cu126"))


def driver_cuda() -> tuple[int, int] | None:
    """The CUDA version nvidia-smi's header reports (what the driver supports), None without a working GPU."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", done.stdout) if done.returncode == 0 else None
    return (int(m[1]), int(m[2])) if m else None


def choose(requested: str, cuda: tuple[int, int] | None) -> str:
    """The build tag for `--torch`: `auto` picks the newest build the driver runs, `cpu` without a driver."""
    if requested != "auto":
        return requested
    if cuda is None:
        return "cpu"
    for lowest, tag in _BUILDS:
        if cuda >= lowest:
            return tag
    raise UserError(f"the NVIDIA driver supports CUDA {cuda[0]}.{cuda[1]}, older than 12.6 (the oldest build fluxgen "
                    "installs); update the driver, or pass --torch cpu")


def index_args(tag: str) -> list[str]:
    """pip options for the torch step: the PyTorch index of that CUDA build; `cpu` keeps the default index."""
    return [] if tag == "cpu" else ["--index-url", INDEX.format(tag=tag)]
