"""What used to render silently and mean something else: every case now ends in a clear line or a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import cli_run


def one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.mark.parametrize("args", [("--images", ""), ("--images", "  "), ("--set", "dataset.path=")])
def test_an_empty_dataset_path_is_not_the_current_folder(args: tuple[str, str]) -> None:
    one_line_error(cli_run("plan", "subject", *args), "empty", "--images .")


@pytest.mark.parametrize("sub", ["", "cfg", "a/b/c"])
def test_render_out_inside_the_dataset_is_refused(tmp_path: Path, skull20: Path, sub: str) -> None:
    out = skull20 / sub if sub else skull20
    one_line_error(cli_run("render", "subject", "--images", str(skull20), "--out", str(out)),
                   "inside the dataset folder")
    assert not (skull20 / "cfg").exists() and not (skull20 / "config.yaml").exists()


@pytest.mark.parametrize(("setting", "key"), [
    ("trigger=[name]", "trigger"), ("samples.prompts=[\"a [name] in the snow\"]", "sample_prompts"),
    ("train.optimizer_args={weight_decay: \"[name]\"}", "optimizer_args"),
    ("train.optimizer_args={eps: \"${HOME}\"}", "optimizer_args"), ("name=job-${USER}", "name"),
])
def test_ai_toolkit_substitution_tokens_are_refused_with_the_key(tmp_path: Path, skull20: Path, setting: str,
                                                                  key: str) -> None:
    result = cli_run("render", "subject", "--images", str(skull20), "--set", setting, "--out", str(tmp_path / "o"))
    one_line_error(result, f"{key}: ", "ai-toolkit would replace", "command line --set")
    assert "is not set here" not in result.stderr and not (tmp_path / "o" / "config.yaml").exists()


def test_the_same_tokens_are_fine_for_sd_scripts(tmp_path: Path, skull20: Path) -> None:
    result = cli_run("render", "subject", "--images", str(skull20), "--backend", "sd-scripts",
                     "--set", "samples.prompts=[\"a [name] in the snow\"]", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("trigger", [" CSKULL", "CSKULL ", "  CSKULL\u00a0", " "])
def test_triggers_with_surrounding_spaces_are_refused(skull20: Path, trigger: str) -> None:
    one_line_error(cli_run("plan", "subject", "--images", str(skull20), "--trigger", trigger), "trigger")


def test_builtin_says_what_it_does_not_use(skull20: Path) -> None:
    result = cli_run("plan", "subject", "--images", str(skull20), "--backend", "builtin",
                     "--set", "train.optimizer_args={eps: 1.0e-8, weight_decay: 0.01}")
    assert result.exit_code == 0 and "eps, weight_decay" in result.stdout + result.stderr
    assert "not used" in result.stdout + result.stderr
    one_line_error(cli_run("plan", "subject", "--images", str(skull20), "--backend", "builtin",
                           "--set", "network.train_text_encoder=true"), "network.train_text_encoder", "transformer only")


@pytest.mark.parametrize("vram", ["10", "16", "48"])
def test_sd_scripts_renders_text_encoder_training_that_plan_accepted(tmp_path: Path, skull20: Path,
                                                                     vram: str) -> None:
    out = tmp_path / "o"
    result = cli_run("render", "subject", "--images", str(skull20), "--backend", "sd-scripts", "--vram", vram,
                     "--set", "network.train_text_encoder=true", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "network_train_unet_only" not in (out / "args.toml").read_text()


@pytest.mark.parametrize("vram", ["4", "6", "7"])
def test_vram_below_the_smallest_tier_is_said(skull20: Path, vram: str) -> None:
    result = cli_run("plan", "subject", "--images", str(skull20), "--vram", vram)
    assert result.exit_code == 0 and "below the smallest documented tier (8 GB)" in result.stdout + result.stderr
