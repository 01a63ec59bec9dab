"""The `fluxgen eval` command's flow and its printout: the grid, progress with ETA, the recommendation and its rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.evaluate.metrics import DEFAULT_CLIP, DEFAULT_DINO
from fluxgen.evaluate.recommend import MAX_COPY, MAX_FLEX_DROP, Bounds


def run_eval(target: str, runs: Path, images: Path | None, out: Path | None, device: str, clip: str | None,
             dino: str | None, max_flex_drop: float | None, max_copy: float | None, export_format: str | None,
             grid_options: dict[str, Any]) -> None:
    from rich.console import Console

    from fluxgen.evaluate.grid import stacking_warning
    from fluxgen.evaluate.options import EvalOptions, build_grid
    from fluxgen.evaluate.run import evaluate
    from fluxgen.trainer.model import resolve_device

    console = Console(stderr=True, highlight=False)
    src = resolve_source(target, runs, out)
    if images is not None:
        src.dataset = images
    grid = build_grid(src, EvalOptions(**grid_options))
    warning = stacking_warning(grid.strengths, grid.extras)
    if warning:
        console.print(f"warning: {warning}", style="yellow", markup=False, soft_wrap=True)
    cells = len(grid.cells())
    console.print(f"eval {src.name}: {len(grid.checkpoints)} checkpoints × {len(grid.prompts)} prompts × "
                  f"{len(grid.strengths)} strengths × {len(grid.seeds)} seeds = {cells} images at {grid.size} px, "
                  f"{grid.steps} steps -> {src.out_dir}", markup=False, soft_wrap=True)
    bounds = Bounds(max_flex_drop if max_flex_drop is not None else MAX_FLEX_DROP,
                    max_copy if max_copy is not None else MAX_COPY)
    with _progress(console) as progress:
        outcome = evaluate(src, grid, clip or DEFAULT_CLIP, dino or DEFAULT_DINO, bounds, resolve_device(device),
                           progress)
    timing = f"{outcome.generated} generated, {outcome.reused} reused"
    if outcome.seconds_per_cell:
        timing += f", {outcome.seconds_per_cell:.2f} s per image"
    print(f"wrote {outcome.path} ({timing}) and {len(outcome.data['sheets'])} contact sheets")
    _print_recommendation(outcome.data["recommendation"])
    exported = export_choice(src, outcome.data, export_format) if export_format else None
    if exported:
        print(f"export ({export_format}): {exported}")
    if src.run_dir is not None:
        from fluxgen.report import write_report

        print(f"report: {write_report(src.run_dir)[0]} (Evaluation section)")


def resolve_source(target: str, runs: Path, out: Path | None):
    from fluxgen.evaluate.source import from_file, from_run
    from fluxgen.runs.folder import find_run

    path = Path(target).expanduser()
    if path.is_file() or target.endswith(".safetensors"):
        if not path.is_file():
            raise UserError(f"{path}: no such file")
        return from_file(path, out)
    return from_run(find_run(target, runs))


def _progress(console):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=False)


def _print_recommendation(rec: dict[str, Any]) -> None:
    choice = rec["choice"]
    if choice is None:
        print(f"recommendation: none — {rec['why']}")
    else:
        print(f"recommendation: step {choice['step']} at strength {choice['strength']:g} "
              f"({Path(choice['checkpoint']).name})")
        print(f"  why: {rec['why']}")
    for row in rec["rule"]:
        print(f"  {row['name']}: {row['value']}  [{row['origin']}]")


def export_choice(src: Any, data: dict[str, Any], fmt: str) -> Path | None:
    """The recommended checkpoint in `fmt`, named by seed:003's convention, in the eval folder."""
    from fluxgen.lora.export import convert_file, export_name

    choice = data["recommendation"]["choice"]
    if choice is None:
        return None
    out = src.out_dir / export_name(src.name, choice["step"])
    return convert_file(Path(choice["checkpoint"]), fmt, out, force=True, copy_same=True).out
