"""Cold-start time of `fluxgen --help` and `fluxgen plan`, against `python -c pass` in the same run.

Usage: python benchmarks/bench_startup.py [--runs 15]
Prints the median wall time of each command and its ratio to the bare interpreter start.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def timed(argv: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    from helpers import make_images

    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        images = make_images(Path(tmp) / "images", 20)
        rows = [
            ("python -c pass", [py, "-c", "pass"]),
            ("fluxgen --help", [py, "-m", "fluxgen", "--help"]),
            ("fluxgen plan (20 images)", [py, "-m", "fluxgen", "plan", "cyber-skull", "--images", str(images), "--json"]),
        ]
        base = None
        print(f"{'command':<28} {'median ms':>10} {'× python':>9}")
        for label, argv in rows:
            t = timed(argv, args.runs)
            base = base or t
            print(f"{label:<28} {t * 1000:>10.1f} {t / base:>9.2f}")


if __name__ == "__main__":
    main()
