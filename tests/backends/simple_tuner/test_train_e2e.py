"""The real SimpleTuner 4.10.1 on a CPU: a tiny plan rendered by fluxgen and read by SimpleTuner's own loaders, then
the tiny FLUX trained through `fluxgen train --backend simpletuner` to a completed run whose LoRA diffusers loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from backends.simple_tuner.st_env import run_loader

from helpers import cli_run, make_images

PLAN = ("--backend", "simpletuner", "--steps", "4", "--vram", "80", "--set", "save.every=2",
        "--set", "samples.every=2", "--set", "train.resolution=[64]", "--set", "samples.size=64",
        "--set", "samples.steps=2", "--set", "train.precision=fp32",
        "--set", "train.optimizer=adamw")


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, st_python: str) -> tuple[Path, Path]:
    monkeypatch.setenv("FLUXGEN_SIMPLETUNER_PYTHON", st_python)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    built = cli_run("model", "tiny", str(tmp_path / "tiny"))
    assert built.exit_code == 0, built.stderr
    return tmp_path / "tiny", make_images(tmp_path / "skull", 4, size=128)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_rendered_files_pass_simpletuners_own_loaders(tiny: tuple[Path, Path], tmp_path: Path, st_python: str):
    model, images = tiny
    out = tmp_path / "cfg"
    rendered = cli_run("render", "cyber-skull", "--images", str(images), "--set", f"model.base={model}", *PLAN,
                       "--out", str(out))
    assert rendered.exit_code == 0, rendered.stderr
    config = run_loader(st_python, "config", str(out / "config.json"))
    assert config["ok"], config["errors"]
    args = config["args"]
    assert (args["model_family"], args["lora_type"], args["lora_rank"], args["lora_alpha"]) == ("flux", "standard",
                                                                                               32, 32.0)
    assert (args["max_train_steps"], args["checkpoint_step_interval"], args["validation_step_interval"]) == (4, 2, 2)
    assert (args["pretrained_model_name_or_path"], args["resolution"]) == (str(model), 64)
    datasets = run_loader(st_python, "datasets", str(out / "multidatabackend.json"), str(out / "config.json"))
    assert datasets == {"ok": True, "errors": []}
    assert cli_run("validate", str(out / "config.json")).exit_code == 0
    assert cli_run("validate", str(out / "multidatabackend.json")).exit_code == 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_train_tiny_flux_to_a_lora_diffusers_loads(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    model, images = tiny
    trained = cli_run("train", "cyber-skull", "--images", str(images), "--set", f"model.base={model}", *PLAN,
                      "--no-report")
    assert trained.exit_code == 0, trained.stderr[-3000:]
    (run,) = (tmp_path / "runs").iterdir()
    import json

    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["status"], manifest["last_step"]) == ("completed", 4)
    assert manifest["final_lora"] == "output/pytorch_lora_weights.safetensors"
    assert [c["step"] for c in manifest["checkpoints"]][-1] == 4

    import torch
    from diffusers import FluxPipeline

    pipe = FluxPipeline.from_pretrained(str(model), torch_dtype=torch.float32, local_files_only=True)
    pipe.load_lora_weights(str(run / "output"), weight_name="pytorch_lora_weights.safetensors")
    assert pipe.get_list_adapters() == {"transformer": ["default_0"]}
