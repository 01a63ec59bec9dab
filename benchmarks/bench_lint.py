"""Time `fluxgen dataset lint` against a naive full-decode loop on N large JPEGs.

    .venv/bin/python benchmarks/bench_lint.py --n 200 --n 2000

Images (2048 px, distinct content) are generated once into --cache (default: <tmp>/fluxgen-bench-lint/<n>) and
reused. Both timings read the same files after a warm-up pass, so the page cache favours neither side, and the
best of --repeat runs is reported for each.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

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


def bench(count: int, cache: Path, repeat: int) -> dict[str, float]:
    """Best of `repeat` alternating runs of each side (other work on the machine only ever adds time)."""
    from fluxgen.dataset.lint import lint_dataset

    folder = cache / str(count)
    paths = ensure_images(folder, count)
    size = warm(paths)
    lint_s = naive_s = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        report = lint_dataset(folder, caption_mode="none")
        lint_s = min(lint_s, time.perf_counter() - start)
        start = time.perf_counter()
        naive(paths)
        naive_s = min(naive_s, time.perf_counter() - start)
    assert report.image_count == count, report.summary()
    dupes = [f for f in report.findings if f.id in ("duplicate", "near-duplicate")]
    return {"n": count, "mb": size / 1e6, "lint_s": lint_s, "naive_s": naive_s, "dupes": len(dupes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="image count (repeatable); default 200")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "fluxgen-bench-lint")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; the best time counts")
    args = parser.parse_args()
    print(f"{'images':>7} {'MB':>7} {'lint s':>8} {'img/s':>7} {'naive s':>8} {'img/s':>7} {'speed-up':>8}")
    for count in args.n or [200]:
        r = bench(count, args.cache, max(1, args.repeat))
        print(f"{r['n']:>7} {r['mb']:>7.0f} {r['lint_s']:>8.2f} {r['n'] / r['lint_s']:>7.0f} "
              f"{r['naive_s']:>8.2f} {r['n'] / r['naive_s']:>7.0f} {r['naive_s'] / r['lint_s']:>7.1f}×"
              + (f"  ({r['dupes']} duplicate groups found)" if r["dupes"] else ""), flush=True)


if __name__ == "__main__":
    main()
