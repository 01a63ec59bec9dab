"""`fluxgen model …`: local test models, so configs can be tried on a CPU before a GPU run."""

from __future__ import annotations

from pathlib import Path

import click

from fluxgen.errors import UserError


@click.group("model")
def model_group() -> None:
    """Build local test models (a tiny random FLUX.1)."""


@model_group.command("tiny")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="Weights seed; the same seed gives identical files.")
@click.option("--force", is_flag=True, help="Build into DIR even if it is not empty (fluxgen's files are replaced).")
def tiny_cmd(directory: Path, seed: int, force: bool) -> None:
    """Write a FLUX.1-shaped diffusers folder with random weights (~650 KB) into DIR, offline.

    \b
    It loads with diffusers' FluxPipeline and trains on a CPU in seconds: use it as
    `model.path` of the builtin trainer, or `model.name_or_path` of an ai-toolkit config, for a smoke test.
    Its images are noise: it checks plumbing, not quality.
    """
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{directory}: is a file; give a folder to build the model in")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise UserError(f"{directory}: is not empty; pass --force to build into it anyway, or pick a new folder")
    try:
        import diffusers  # noqa: F401
        import sentencepiece  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise UserError(f"building a model needs {exc.name}: pip install 'fluxgen[train]'") from None
    from fluxgen.tiny import build_tiny_flux

    build_tiny_flux(directory, seed=seed)
    size_kb = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) // 1024
    click.echo(f"built a tiny random FLUX.1 (seed {seed}, {size_kb} KB): {directory}")
