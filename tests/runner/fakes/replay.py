"""What both trainer doubles share: the real captures, paced output on two streams, scenarios, small outputs.

The doubles print what the real trainers printed in the captures of `../shared/logs/` (each line taken from a
capture, numbers and paths put in for the job at hand), at the captures' pace divided by `FAKE_SPEED`, and write
the files the real trainer writes. Environment knobs:

    FAKE_SPEED      time divisor (default 50)
    FAKE_SCENARIO   success | oom | nan | crash | stall | slowdown | gated | no-data | bad-dataset-key |
                    disk-full | hang | killed (sd-scripts: SIGKILL, as the kernel's OOM killer) |
                    missing-module | token-error (ai-toolkit: echoes HF_TOKEN's value)  (default success)
    FAKE_AT_STEP    the training step the scenario strikes at (default 3)
    FAKE_STALL      seconds of silence for `stall` (real seconds, not divided; default 3)
    FAKE_SLOWDOWN   how many times slower each step gets for `slowdown` (default 10)
    FAKE_LOGS       the captures folder (default: the shared logs next to the repository)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LOGS = Path(os.environ.get("FAKE_LOGS") or REPO.parent / "shared" / "logs")
SPEED = float(os.environ.get("FAKE_SPEED") or 50)
SCENARIO = os.environ.get("FAKE_SCENARIO") or "success"
AT_STEP = int(os.environ.get("FAKE_AT_STEP") or 3)
STALL_SECONDS = float(os.environ.get("FAKE_STALL") or 3)
SLOWDOWN = float(os.environ.get("FAKE_SLOWDOWN") or 10)
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def capture(name: str) -> str:
    """A capture file as written (carriage returns and escapes kept)."""
    with open(LOGS / name, encoding="utf-8", newline="") as fh:
        return fh.read()


def out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def err(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def pause(seconds: float) -> None:
    """Sleep the captured duration divided by FAKE_SPEED."""
    if seconds > 0:
        time.sleep(seconds / SPEED)


def bar(desc: str | None, n: int, total: int, elapsed: float, rate: float | None, postfix: str | None) -> str:
    """One tqdm redraw in tqdm's own default layout (the trainers use it unchanged)."""
    from tqdm import tqdm

    return tqdm.format_meter(n, total, elapsed, prefix=desc or "", rate=rate, postfix=postfix)


def captured_losses(text: str, pattern: str) -> list[float]:
    """The losses the real trainer showed, in order (a redraw that repeats the previous value counts once)."""
    values: list[float] = []
    for m in re.finditer(pattern, text):
        value = float(m.group(1))
        if not values or values[-1] != value:
            values.append(value)
    return values or [1.5]


def captured_rates(text: str, desc: str) -> list[float]:
    """Seconds per step of the captured training bar (its `it/s` or `s/it` field)."""
    found = []
    for m in re.finditer(re.escape(desc) + r":[^\r\n]*?(\d+(?:\.\d+)?)(it/s|s/it)", ANSI_RE.sub("", text)):
        value = float(m.group(1))
        found.append(1 / value if m.group(2) == "it/s" else value)
    return found or [0.5]


def write_lora(path: Path, metadata: dict[str, str], *, rank: int = 4) -> None:
    """A small LoRA-shaped safetensors file (peft key names, float32), like the trainers save."""
    import numpy as np
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        "transformer.single_transformer_blocks.0.attn.to_q.lora_A.weight": np.full((rank, 32), 0.01, np.float32),
        "transformer.single_transformer_blocks.0.attn.to_q.lora_B.weight": np.zeros((32, rank), np.float32),
    }
    save_file(tensors, str(path), metadata=metadata)


def write_truncated(path: Path) -> None:
    """A checkpoint cut off while it was being written (disk full, killed mid-save)."""
    write_lora(path, {"format": "pt"})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def read_metadata(path: Path) -> dict[str, str] | None:
    """The metadata of a safetensors file, or None when the file is unreadable (as the trainers would fail)."""
    try:
        with open(path, "rb") as fh:
            length = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(length))
        return header.get("__metadata__", {})
    except (OSError, ValueError):
        return None


def write_image(path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), (40, 80, 120)).save(path)


# Like torch's data-loader workers: deaf to Ctrl-C, and gone within a moment of its parent's death (torch's
# workers watch their parent's pid and exit when it changes).
WORKER = ("import os, signal, sys, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nparent = int(sys.argv[1])\n"
          "while os.getppid() == parent: time.sleep(0.1)")


def spawn_worker() -> subprocess.Popen:
    """A data-loader worker stand-in that ignores Ctrl-C and exits when its parent dies, as torch's workers do."""
    return subprocess.Popen([sys.executable, "-c", WORKER, str(os.getpid())])


def ignore_signals() -> None:
    """The `hang` scenario: a trainer that does not react to SIGINT/SIGTERM (only SIGKILL ends it) and, from
    FAKE_AT_STEP on, does nothing at all."""
    while True:
        time.sleep(0.1)


if SCENARIO == "hang":  # deaf from the start, so a signal cannot slip in before the hang begins
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def strikes(step: int, *names: str) -> bool:
    return SCENARIO in names and step == AT_STEP


def step_time(base: float, step: int) -> float:
    """Seconds a step takes; `slowdown` makes the steps from FAKE_AT_STEP on FAKE_SLOWDOWN times slower."""
    return base * SLOWDOWN if SCENARIO == "slowdown" and step >= AT_STEP else base


def stall_here(step: int) -> None:
    if strikes(step, "stall"):
        time.sleep(STALL_SECONDS)
