"""`fluxgen eval`: score a run's checkpoints (or one LoRA file) and recommend a checkpoint and strength."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("eval")
@click.argument("target")
@click.option("--runs", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Folder of runs, when TARGET is a run name.")
@click.option("--base", help="Base model (diffusers folder or hub id); default: the run's.")
@click.option("--images", type=click.Path(path_type=Path), help="Training images (default: the run's dataset).")
@click.option("--checkpoints", default="all", show_default=True, help="all (thinned to 8), last, or STEP,STEP.")
@click.option("--prompts", type=click.Path(path_type=Path), help="Prompts file, one per line.")
@click.option("--strengths", help="Comma-separated LoRA strengths (default 0.6,0.8,1.0,1.2; 0 is always added).")
@click.option("--seeds", help="Comma-separated seeds (default: the plan's sample seed and the next).")
@click.option("--size", type=int, help="Image side in pixels (default: the plan's sample size).")
@click.option("--steps", type=int, help="Denoising steps (default: the plan's sample steps).")
@click.option("--guidance", type=float, help="Guidance (default: the plan's sample guidance).")
@click.option("--with", "extras", multiple=True, metavar="FILE:WEIGHT", help="Stack another LoRA under every cell.")
@click.option("--clip", default=None, help="CLIP model, hub id or folder [openai/clip-vit-large-patch14].")
@click.option("--dino", default=None, help="DINO model, hub id or folder [facebook/dinov2-small].")
@click.option("--max-flex-drop", type=float, default=None, help="Largest CLIP-T drop from strength 0 [0.03].")
@click.option("--max-copy", type=float, default=None, help="Copy-score bound (DINO similarity) [0.90].")
@click.option("--export", "export_format", type=click.Choice(["kohya", "diffusers"]),
              help="Also write the recommended checkpoint, named NAME_v1_<steps>steps.safetensors (seed:003).")
@click.option("--out", type=click.Path(path_type=Path), help="Output folder for a bare LoRA file.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
def eval_cmd(target: str, runs: Path, images: Path | None, out: Path | None, device: str, clip: str | None,
             dino: str | None, max_flex_drop: float | None, max_copy: float | None, export_format: str | None,
             **grid_options) -> None:
    """Generate checkpoints × prompts × strengths × seeds with FluxPipeline, score each image with CLIP and
    DINO against the prompt and the training images, write RUN/eval/ and recommend a checkpoint and strength.

    TARGET is a run folder (or name under --runs) or a LoRA .safetensors file (then give --base and --images).
    """
    from fluxgen.evaluate.present import run_eval

    run_eval(target, runs, images, out, device, clip, dino, max_flex_drop, max_copy, export_format, grid_options)
