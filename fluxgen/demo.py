"""`make demo`: the whole loop on any machine — dataset, lint, tiny model, plan, train, render, reproduce, inspect.

Runs the real `fluxgen` commands one after another, as a user would, on a generated dataset and a tiny random FLUX.1
built locally, with the builtin trainer on the CPU. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

# The cyber-skull preset, shrunk to what a CPU trains in seconds: 64 px, 40 steps, a checkpoint every 10.
TINY_OVERRIDES = ["--steps", "40", "--set", "save.every=10", "--set", "train.resolution=[64]",
                  "--set", "samples.size=64", "--set", "samples.steps=2"]


# Two checkpoints, two strengths besides 0, one seed at 32 px: 20 images, seconds on a CPU.
EVAL_GRID = ["--checkpoints", "20,40", "--strengths", "0.8,1.0", "--seeds", "42", "--size", "32"]


def _exported(run: Path) -> Path | None:
    """The kohya file `fluxgen eval --export` wrote for the recommended checkpoint, if one was recommended."""
    import json

    choice = json.loads((run / "eval" / "eval.json").read_text())["recommendation"]["choice"]
    if choice is None:
        return None
    from fluxgen.lora.export import export_name

    return run / "eval" / export_name("cyber-skull", choice["step"])


def fluxgen(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one fluxgen command, its output going straight to the terminal."""
    argv = [sys.executable, "-m", "fluxgen", *args]
    print(f"\n$ fluxgen {' '.join(args)}", flush=True)
    done = subprocess.run(argv, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"demo: `fluxgen {args[0]}` failed with exit code {done.returncode}")
    return done


def section(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def newest_run(runs: Path, before: set[Path]) -> Path:
    new = sorted(p for p in runs.iterdir() if p.is_dir() and p not in before)
    if not new:
        raise SystemExit(f"demo: no new run folder in {runs}")
    return new[-1]


def render_for_other_trainers(intent: list[str], configs: Path) -> None:
    """Step 5: every trainer with an environment of its own gets the same intent, and its files pass validate."""
    from fluxgen.backends import BACKENDS

    others = {name: b for name, b in BACKENDS.items() if b.env_recipe().source != "self"}
    section(f"5. the same intent rendered for {' and '.join(others)}, into a fresh folder")
    for name in others:
        fluxgen("render", *intent, "--backend", name, "--out", str(configs / name))
    for name, backend in others.items():
        fluxgen("validate", str(configs / name / backend.main_file))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo-out"))
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    dataset = _sample_dataset(out)
    intent = ["cyber-skull", "--images", str(dataset), "--set", f"model.base={_tiny_model(out)}", *TINY_OVERRIDES]

    section("3. the plan: every value with its origin, and the advice")
    fluxgen("plan", *intent, "--backend", "builtin")
    fluxgen("explain", *intent[:1], "steps", "rank", "alpha", *intent[1:], "--backend", "builtin")

    section("4. train it with the builtin trainer, following the console live")
    runs = out / "runs"
    runs.mkdir(exist_ok=True)
    before = set(runs.iterdir())
    fluxgen("train", *intent, "--backend", "builtin", "--runs", str(runs))
    run = newest_run(runs, before)

    configs = out / "configs" / run.name
    render_for_other_trainers(intent, configs)
    again, same = _reproduce(run, runs)

    section("7. the LoRA file")
    fluxgen("lora", "inspect", str(run / "output" / "cyber-skull.safetensors"))
    export = _pick_and_publish(run, out)
    _summary(run, configs, again, same, export)
    print(f"took {time.perf_counter() - start:.0f} s")
    if not same:
        raise SystemExit("demo: the reproduced render differs from the original")


def _sample_dataset(out: Path) -> Path:
    section("1. a sample dataset: 12 captioned cyber-skull images drawn with Pillow")
    dataset = out / "dataset"
    if not dataset.is_dir():
        from fluxgen.sample_data import make_sample_dataset

        make_sample_dataset(dataset)
    print(f"{dataset}: {len(list(dataset.glob('*.jpg')))} images with captions")
    fluxgen("dataset", "lint", str(dataset), "--kind", "subject", "--trigger", "CSKULL", "--resolution", "64")
    return dataset


def _tiny_model(out: Path) -> Path:
    section("2. a tiny random FLUX.1 model in diffusers format (stands in for FLUX.1-dev)")
    model = out / "tiny-flux"
    if not (model / "model_index.json").is_file():
        fluxgen("model", "tiny", str(model), "--force")
    return model


def _reproduce(run: Path, runs: Path) -> tuple[Path, bool]:
    section("6. reproduce the run from its generated config alone")
    before = set(runs.iterdir())
    fluxgen("reproduce", str(run / "train.yaml"), "--runs", str(runs))
    again = newest_run(runs, before)
    same = (run / "train.yaml").read_bytes() == (again / "train.yaml").read_bytes()
    print(f"rendered train.yaml of {run.name} and {again.name}: {'byte-identical' if same else 'DIFFERENT'}")
    return again, same


def _pick_and_publish(run: Path, out: Path) -> Path:
    section("8. pick the checkpoint: eval with tiny random CLIP and DINO, export it for ComfyUI, a Hub folder")
    metric_models = out / "metric-models"
    if not (metric_models / "dino" / "config.json").is_file():
        from fluxgen.evaluate.tiny import build_tiny_clip, build_tiny_dino

        build_tiny_clip(metric_models / "clip")
        build_tiny_dino(metric_models / "dino")
    fluxgen("eval", str(run), "--clip", str(metric_models / "clip"), "--dino", str(metric_models / "dino"),
            *EVAL_GRID, "--export", "kohya")
    export = _exported(run)
    if export is None:  # random metric models can reject every cell; the final LoRA still gets its kohya file
        export = run / "output" / "cyber-skull.kohya.safetensors"
        fluxgen("lora", "convert", str(run / "output" / "cyber-skull.safetensors"), "--to", "kohya", "--force")
    fluxgen("publish", str(run), "--repo", "demo/cyber-skull-lora", "--dry-run")
    return export


def _summary(run: Path, configs: Path, again: Path, same: bool, export: Path) -> None:
    section("done")
    print(f"run folder:        {run}")
    print(f"LoRA:              {run / 'output' / 'cyber-skull.safetensors'}")
    print(f"report:            {run / 'report.html'}")
    print(f"ai-toolkit config: {configs / 'ai-toolkit' / 'config.yaml'}")
    print(f"sd-scripts config: {configs / 'sd-scripts' / 'args.toml'} (+ dataset.toml, sample_prompts.txt)")
    print(f"reproduced run:    {again} ({'identical render' if same else 'render differs'})")
    print(f"evaluation:        {run / 'eval' / 'eval.json'} (sheets and the report's Evaluation section)")
    print(f"kohya export:      {export}")
    print(f"Hub folder:        {run / 'publish' / 'cyber-skull-lora'} (README.md card, dry run)")


if __name__ == "__main__":
    main()
