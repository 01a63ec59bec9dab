"""Time `fluxgen dataset lint DIR` (the command, as a user runs it) against a naive full-decode loop on N large
JPEGs, in the same run.

    .venv/bin/python benchmarks/bench_lint.py --n 200 --n 2000

Images (2048 px, distinct content) are generated once into --cache (default: <tmp>/fluxgen-bench-lint/<n>) and
reused. Every timing reads the same files after a warm-up pass, so the page cache favours no side, and the best
of --repeat alternating runs counts (other work on the machine only ever adds time). Columns:

* `command`: `python -m fluxgen dataset lint DIR` as a subprocess, default caption mode, interpreter start
  included;
* `1 core`: the same lint in-process with one worker, to show what the process pool adds;
* `naive`: `Image.open(p).convert("RGB")` + `load()` for each file in one process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIDE = 2048


def make_image(args: tuple[Path, int]) -> None:
    """Smooth random colour field, a few shapes and a film-grain texture: distinct hashes, photo-like size."""
    import numpy as np
    from PIL import Image, ImageDraw

    path, seed = args
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    coarse = (rng.random((6, 6, 3)) * 255).astype("uint8")
    im = Image.fromarray(coarse).resize((SIDE, SIDE), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(im)
    for _ in range(12):
        x, y = (int(v) for v in rng.integers(0, SIDE - 200, 2))
        w, h = (int(v) for v in rng.integers(60, 600, 2))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + w, y + h), fill=colour)
    grain = rng.normal(0, 6, (SIDE, SIDE, 1)).astype("int16")
    arr = np.clip(np.asarray(im, dtype="int16") + grain, 0, 255).astype("uint8")
    tmp = path.with_suffix(".part")
    Image.fromarray(arr).save(tmp, "JPEG", quality=90)
    os.replace(tmp, path)


def ensure_images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"img_{i:05}.jpg" for i in range(count)]
    missing = [(p, i) for i, p in enumerate(paths) if not p.exists()]
    if missing:
        print(f"generating {len(missing)} images in {folder} …", flush=True)
        with ProcessPoolExecutor() as pool:
            list(pool.map(make_image, missing, chunksize=8))
    return paths


def naive(paths: list[Path]) -> None:
    from PIL import Image

    for path in paths:
        with Image.open(path) as im:
            im.convert("RGB").load()


def warm(paths: list[Path]) -> int:
    return sum(len(p.read_bytes()) for p in paths)


def run_command(folder: Path, count: int) -> float:
    """Wall time of the lint command in a fresh interpreter; checks that it saw every image."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "fluxgen", "dataset", "lint", str(folder)], cwd=REPO,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    if done.returncode not in (0, 1) or not summary.startswith(f"{count} images"):
        raise SystemExit(f"lint failed ({done.returncode}): {summary}")
    return elapsed


def run_one_core(folder: Path) -> float:
    from fluxgen.dataset.lint import lint_dataset

    start = time.perf_counter()
    lint_dataset(folder, workers=1)
    return time.perf_counter() - start


def run_naive(paths: list[Path]) -> float:
    start = time.perf_counter()
    naive(paths)
    return time.perf_counter() - start


def bench(count: int, cache: Path, repeat: int) -> dict[str, float]:
    folder = cache / str(count)
    paths = ensure_images(folder, count)
    size = warm(paths)
    best = {"command": float("inf"), "one_core": float("inf"), "naive": float("inf")}
    for _ in range(repeat):
        best["command"] = min(best["command"], run_command(folder, count))
        best["one_core"] = min(best["one_core"], run_one_core(folder))
        best["naive"] = min(best["naive"], run_naive(paths))
    return {"n": count, "mb": size / 1e6, **best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="image count (repeatable); default 200")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "fluxgen-bench-lint")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; the best time counts")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{cores} cores; best of {max(1, args.repeat)} runs each")
    print(f"{'images':>7} {'MB':>6} {'command s':>10} {'img/s':>6} {'1 core s':>9} {'img/s':>6} "
          f"{'naive s':>8} {'img/s':>6} {'naive/command':>14}")
    for count in args.n or [200]:
        r = bench(count, args.cache, max(1, args.repeat))
        n = r["n"]
        print(f"{n:>7} {r['mb']:>6.0f} {r['command']:>10.2f} {n / r['command']:>6.0f} {r['one_core']:>9.2f} "
              f"{n / r['one_core']:>6.0f} {r['naive']:>8.2f} {n / r['naive']:>6.0f} "
              f"{r['naive'] / r['command']:>13.1f}×", flush=True)


if __name__ == "__main__":
    main()
