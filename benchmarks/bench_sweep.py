"""4 tiny builtin points as one `fluxgen sweep` (local pool) against the same 4 plans trained one after another
with `fluxgen train`, in the same run on the same machine.

Usage: python benchmarks/bench_sweep.py [--steps 8] [--max-parallel 2]
Prints both wall times and their ratio (sweep / sequential). On a CPU the pool runs --max-parallel trainers with
one torch thread each; the sequential baseline also uses one thread per trainer, so the ratio measures what the
pool buys (and the sweep's own overhead), not a change of thread count.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
GRID = {"train.lr": ["1e-4", "5e-5"], "network.rank": ["4", "8"]}


def lean(model: Path, steps: int) -> list[str]:
    return ["--backend", "builtin", "--set", f"model.base={model}", "--steps", str(steps), "--set", "save.every=4",
            "--set", f"samples.every={steps}", "--set", "train.resolution=64", "--set", "samples.size=64",
            "--set", "samples.steps=1", "--set", 'samples.prompts=["a skull"]', "--set", "train.optimizer=adamw",
            "--no-report"]


def fluxgen(args: list[str], cwd: Path) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fluxgen", *args], check=True, cwd=cwd, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--max-parallel", type=int, default=2)
    args = parser.parse_args()
    from fluxgen.tiny import build_tiny_flux
    from helpers import make_images

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = build_tiny_flux(root / "tiny", seed=0)
        images = make_images(root / "images", 3, size=64)
        base = ["cyber-skull", "--images", str(images), *lean(model, args.steps)]
        sequential = 0.0
        for lr in GRID["train.lr"]:
            for rank in GRID["network.rank"]:
                sets = ["--set", f"train.lr={lr}", "--set", f"network.rank={rank}"]
                sequential += fluxgen(["train", *base, *sets, "--runs", str(root / "seq")], root)
        grid = [item for key, values in GRID.items() for item in ("--grid", f"{key}={','.join(values)}")]
        swept = fluxgen(["sweep", *base, *grid, "--max-parallel", str(args.max_parallel), "--out",
                         str(root / "sweep")], root)
    print(f"4 points x {args.steps} steps, tiny FLUX.1 at 64 px, {os.cpu_count()} CPUs")
    print(f"sequential fluxgen train x4: {sequential:7.1f} s")
    print(f"fluxgen sweep (local, --max-parallel {args.max_parallel}): {swept:7.1f} s")
    print(f"ratio sweep / sequential: {swept / sequential:.2f}")


if __name__ == "__main__":
    main()
