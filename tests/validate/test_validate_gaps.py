"""Configs that cannot run are never called clean: what the pinned trainers stop on, numbers no trainer can use,
and TOML that sd-scripts' own reader reads differently."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import cli_run


def render(tmp_path: Path, skull20: Path, backend: str) -> Path:
    out = tmp_path / backend
    assert cli_run("render", "subject", "--images", str(skull20), "--backend", backend, "--out", str(out)).exit_code == 0
    return out


def errors_of(path: Path) -> str:
    result = cli_run("validate", str(path))
    assert result.exit_code == 1, result.stdout
    return result.stdout.split("errors:", 1)[1].split("warnings:", 1)[0]


@pytest.mark.parametrize(("text", "needle"), [
    ("job: extension\n", "config: missing"),
    ("job: extension\nmeta: {name: x}\n", "config: missing"),
    ("job: extension\nconfig:\n  process: []\n", "config.name: missing"),
])
def test_ai_toolkit_files_without_what_it_requires(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert needle in errors_of(path)


@pytest.mark.parametrize(("old", "new"), [("lr: ", "lr: .nan #"), ("lr: ", "lr: -.inf #"),
                                          ("guidance_scale: ", "guidance_scale: .inf #")])
def test_non_finite_numbers_in_ai_toolkit_are_errors(tmp_path: Path, skull20: Path, old: str, new: str) -> None:
    path = render(tmp_path, skull20, "ai-toolkit") / "config.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    assert "is not a number a trainer can use" in errors_of(path)


@pytest.mark.parametrize("setting", ["learning_rate = nan", "max_grad_norm = inf", "network_alpha = -inf"])
def test_non_finite_numbers_in_sd_scripts_are_errors(tmp_path: Path, skull20: Path, setting: str) -> None:
    path = render(tmp_path, skull20, "sd-scripts") / "args.toml"
    key = setting.split(" =")[0]
    lines = [line for line in path.read_text().splitlines() if not line.startswith(f"{key} =")]
    path.write_text("\n".join(lines[:8] + [setting] + lines[8:]) + "\n")
    assert f"{key}: " in errors_of(path)


@pytest.mark.parametrize("var", ["FLUXGEN_TEST_UNSET", "NOPE_X"])
def test_an_unset_variable_ai_toolkit_stops_on_is_an_error(tmp_path: Path, skull20: Path, var: str) -> None:
    path = render(tmp_path, skull20, "ai-toolkit") / "config.yaml"
    path.write_text(path.read_text().replace("training_folder: ", f"training_folder: \"${{{var}}}\" #", 1))
    assert f"{var} is not set here" in errors_of(path)


@pytest.mark.parametrize(("line", "key"), [('output_name = "\\"\\""', "output_name"),
                                          ('network_args = ["\\"\\""]', "network_args"),
                                          ('output_name = "\\"\\""  # the same, after a comment', "output_name")])
def test_toml_that_sd_scripts_reads_differently_is_an_error(tmp_path: Path, skull20: Path, line: str,
                                                            key: str) -> None:
    path = render(tmp_path, skull20, "sd-scripts") / "args.toml"
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith(f"{key} =")]
    path.write_text("\n".join(lines[:8] + [line] + lines[8:]) + "\n")
    assert "toml 0.10.2" in errors_of(path)
