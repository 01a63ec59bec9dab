"""Seconds per `fluxgen eval` cell on the tiny FLUX.1 with tiny CLIP/DINO, against the bare FluxPipeline call.

Usage: python benchmarks/bench_eval.py [--cells 12] [--size 32]
Builds the tiny models in a temporary folder, evaluates one LoRA over a grid of about --cells images, and prints
wall and CPU seconds per cell for: the plain pipeline call (baseline), and eval's whole cell (LoRA switch,
generation, PNG, CLIP+DINO metrics, cell record). The ratio is what eval adds around generation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def _baseline(model: Path, size: int, runs: int) -> tuple[float, float]:
    from fluxgen.evaluate.generate import generate, load_pipeline
    from fluxgen.evaluate.grid import Grid

    pipe = load_pipeline(str(model), "cpu", None)
    grid = Grid(str(model), [], ["a watercolor painting of CSKULL"], [0.0], [1], size, 2, 3.5)
    walls, cpus = [], []
    for seed in range(runs):
        w, c = time.perf_counter(), time.process_time()
        generate(pipe, grid, grid.prompts[0], seed)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=12)
    parser.add_argument("--size", type=int, default=32)
    args = parser.parse_args()
    from lora.lora_builders import builtin_lora

    from fluxgen.evaluate.grid import Checkpoint, Grid
    from fluxgen.evaluate.recommend import Bounds
    from fluxgen.evaluate.run import evaluate
    from fluxgen.evaluate.source import Source
    from fluxgen.evaluate.tiny import build_tiny_clip, build_tiny_dino
    from fluxgen.sample_data import make_sample_dataset
    from fluxgen.tiny import build_tiny_flux

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = build_tiny_flux(root / "tiny")
        clip, dino = build_tiny_clip(root / "clip"), build_tiny_dino(root / "dino")
        make_sample_dataset(root / "data")
        lora = builtin_lora(model, root / "lora.safetensors")
        base_wall, base_cpu = _baseline(model, args.size, 5)
        prompts = [f"prompt {i} of CSKULL" for i in range(max(1, args.cells // 2))]
        grid = Grid(str(model), [Checkpoint(10, lora)], prompts, [0.0, 1.0], [1], args.size, 2, 3.5)
        src = Source("bench", root / "eval", None, grid.checkpoints, str(model), root / "data", "CSKULL", "subject")
        cpu = time.process_time()
        outcome = evaluate(src, grid, str(clip), str(dino), Bounds())
        cpu = (time.process_time() - cpu) / outcome.generated
    print(f"pipeline call alone ({args.size} px, 2 steps): {base_wall:.3f} s wall, {base_cpu:.3f} s CPU")
    print(f"eval, {outcome.generated} cells: {outcome.seconds_per_cell:.3f} s wall per cell "
          f"(×{outcome.seconds_per_cell / base_wall:.1f} the pipeline call), {cpu:.3f} s CPU per cell incl. loading")


if __name__ == "__main__":
    main()
