"""train.loss_type and samples.negative as rendered for SimpleTuner, read by SimpleTuner's own loader (its JSON
loader and argument parser, in its own Python): the values arrive under its names."""

from __future__ import annotations

from pathlib import Path

import pytest
from backends.simple_tuner.st_env import run_loader

from helpers import cli_run, make_images


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("loss", ["mse", "smooth_l1"])
def test_loss_and_negative_reach_simpletuner(loss: str, tmp_path: Path, st_python: str) -> None:
    images = make_images(tmp_path / "skull", 2, size=128)
    out = tmp_path / "cfg"
    rendered = cli_run("render", "cyber-skull", "--images", str(images), "--backend", "simpletuner", "--vram", "80",
                       "--set", "train.optimizer=adamw", "--set", f"train.loss_type={loss}",
                       "--set", "samples.negative=blurry, [trigger]", "--out", str(out))
    assert rendered.exit_code == 0, rendered.stderr
    config = run_loader(st_python, "config", str(out / "config.json"))
    assert config["ok"], config["errors"]
    args = config["args"]
    assert args["loss_type"] == {"mse": "l2"}.get(loss, loss)
    assert args["validation_negative_prompt"] == "blurry, CSKULL"
    assert args["validation_guidance_real"] == 1.0  # so FLUX samples without it, as the plan says
