"""`fluxgen model tiny`: an offline, deterministic, loadable FLUX.1 diffusers folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fluxgen.cli import cli

pytestmark = pytest.mark.slow

WEIGHT_FILES = (
    "transformer/diffusion_pytorch_model.safetensors",
    "vae/diffusion_pytorch_model.safetensors",
    "text_encoder/model.safetensors",
    "text_encoder_2/model.safetensors",
)


def test_folder_layout(tiny_model: Path):
    folders = sorted(p.name for p in tiny_model.iterdir() if p.is_dir())
    assert folders == ["scheduler", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "transformer", "vae"]
    index = json.loads((tiny_model / "model_index.json").read_text())
    assert index["_class_name"] == "FluxPipeline"
    assert index["tokenizer_2"] == ["transformers", "T5TokenizerFast"]
    for name in WEIGHT_FILES:
        assert (tiny_model / name).is_file(), name
    total = sum(p.stat().st_size for p in tiny_model.rglob("*") if p.is_file())
    assert 300_000 < total < 1_500_000
    transformer = json.loads((tiny_model / "transformer" / "config.json").read_text())
    assert transformer["guidance_embeds"] is True and transformer["num_layers"] == 1


def test_same_seed_same_bytes_other_seed_other_weights(tiny_model: Path, tmp_path: Path):
    from fluxgen.tiny import build_tiny_flux

    again = build_tiny_flux(tmp_path / "again", seed=0)
    other = build_tiny_flux(tmp_path / "other", seed=1)
    for name in WEIGHT_FILES:
        assert (again / name).read_bytes() == (tiny_model / name).read_bytes(), name
        assert (other / name).read_bytes() != (tiny_model / name).read_bytes(), name
    for name in ("tokenizer/tokenizer.json", "tokenizer_2/tokenizer.json", "model_index.json"):
        assert (again / name).read_bytes() == (tiny_model / name).read_bytes(), name


def test_flux_pipeline_loads_it_and_generates(tiny_model: Path):
    import torch
    from diffusers import FluxPipeline

    pipe = FluxPipeline.from_pretrained(str(tiny_model))
    pipe.set_progress_bar_config(disable=True)
    assert pipe.tokenizer_2("a cat").input_ids[-1] == pipe.tokenizer_2.eos_token_id
    generator = torch.Generator().manual_seed(0)
    result = pipe("a photo of a cat", height=64, width=64, num_inference_steps=2, generator=generator)
    image = result.images[0]
    assert image.size == (64, 64)
    assert any(low < high for low, high in image.getextrema())


def test_cli_builds_and_refuses_a_non_empty_folder(tmp_path: Path):
    target = tmp_path / "tiny"
    runner = CliRunner()
    built = runner.invoke(cli, ["model", "tiny", str(target), "--seed", "3"])
    assert built.exit_code == 0, built.output
    assert built.stdout.startswith("built a tiny random FLUX.1 (seed 3, ")
    assert built.stdout.rstrip().endswith(f"KB): {target}")
    assert (target / "model_index.json").is_file()
    refused = runner.invoke(cli, ["model", "tiny", str(target)])
    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert refused.stderr == f"error: {target}: is not empty; pass --force to build into it anyway, or pick a new folder\n"
    forced = runner.invoke(cli, ["model", "tiny", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
