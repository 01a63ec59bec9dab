"""`fluxgen validate`: output lines, --json, exit codes, unreadable files and usage errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fluxgen.cli import cli

GOOD_YAML = """job: extension
config:
  name: my_lora
  process:
    - type: sd_trainer
      training_folder: output
      network: {type: lora, linear: 16, linear_alpha: 16}
      datasets:
        - folder_path: /data/images
      train: {steps: 1000, lr: 1.0e-4, optimizer: adamw8bit, noise_scheduler: flowmatch}
      model: {name_or_path: black-forest-labs/FLUX.1-dev, is_flux: true}
"""


def run(*args: str):
    return CliRunner().invoke(cli, ["validate", *args])


def test_clean_file_exits_0(tmp_path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD_YAML, encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: ok: 0 errors, 0 warnings, 0 info (ai-toolkit-config)\n"
    assert result.stderr == ""


def test_errors_exit_1_with_one_line_per_finding(tmp_path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD_YAML.replace("linear: 16, linear_alpha: 16", "rnak: 16").replace("lr: 1.0e-4", "lr: 1e-4"), encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "errors:"
    assert lines[1] == (f"{path}: config.process[0].network.rnak: unknown key (did you mean 'rank'?) "
                        "(ai-toolkit ignores keys it does not know, so this setting has no effect)")
    assert lines[2] == "warnings:"
    assert lines[3].startswith(f"{path}: config.process[0].train.lr: '1e-4' is a float to ai-toolkit")
    assert lines[-1] == f"{path}: failed: 1 error, 1 warning, 0 info (ai-toolkit-config)"


def test_warnings_only_exit_0(tmp_path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD_YAML.replace("lr: 1.0e-4", "lr: 1e-4"), encoding="utf-8")
    assert run(str(path)).exit_code == 0


def test_json_output_schema(tmp_path) -> None:
    path = tmp_path / "dataset.toml"
    path.write_text("[[datasets]]\nnetwork_multiplier = 1\nresolution = 1024\n"
                    "  [[datasets.subsets]]\n  image_dir = '/i'\n  caption_extension = '.txt'\n", encoding="utf-8")
    result = run(str(path), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert set(data) == {"source", "backend", "kind", "findings", "summary"}
    assert (data["source"], data["backend"], data["kind"]) == (str(path), "sd-scripts", "sd-scripts-dataset")
    assert data["findings"] == [{"severity": "error", "path": "datasets[0].network_multiplier",
                                 "message": "expected float, got an int (1)", "fix": "write 1.0"}]
    assert data["summary"] == {"errors": 1, "warnings": 0, "infos": 0}


def test_command_option(shared) -> None:
    text = (shared / "logs" / "sd-scripts" / "command.sh").read_text(encoding="utf-8")
    result = run("--command", text, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["kind"] == "sd-scripts-command" and data["source"] == "--command"
    assert data["summary"]["errors"] == 0


def test_seed_command_fails() -> None:
    result = run("--command", "accelerate launch flux_train_network.py --flux_train_t_exponent 7.0")
    assert result.exit_code == 1
    assert "--command: --flux_train_t_exponent: sd-scripts has no such option" in result.stdout


@pytest.mark.parametrize("args", [[], ["x.yaml", "--command", "accelerate launch flux_train_network.py"]])
def test_usage_errors_exit_2(args) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert "give either a FILE or --command STR" in result.stderr


def test_command_with_ai_toolkit_backend_is_a_usage_error() -> None:
    assert run("--command", "x", "--backend", "ai-toolkit").exit_code == 2


@pytest.mark.parametrize(("name", "text", "message"), [
    ("missing.yaml", None, "missing.yaml: no such file"),
    ("bad.yaml", "job: extension\nconfig: [\n", r"bad.yaml:3:1: not valid YAML"),
    ("bad.toml", "[general]\nshuffle_caption = \n", r"bad.toml:2:19: not valid TOML"),
    ("bad.json", '{"job": ', r"bad.json:1:9: not valid JSON"),
    ("bomb.yaml", "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
     "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
     "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n", "anchors/aliases expand to more than"),
    ("notes.md", "just some notes\n", "cannot tell which trainer file this is"),
    ("notes.txt", "a cat and a dog\n", "cannot tell which trainer file this is"),
])
def test_unreadable_files_exit_1_with_one_line(tmp_path, name, text, message) -> None:
    import re

    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and re.search(message, result.stderr), result.stderr


def test_backend_forces_or_refuses(tmp_path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD_YAML, encoding="utf-8")
    result = run(str(path), "--backend", "kohya")
    assert result.exit_code == 1
    assert "looks like a ai-toolkit-config file, which sd-scripts does not read" in result.stderr
    assert run(str(path), "--backend", "ai-toolkit").exit_code == 0
    assert "unknown backend" in run(str(path), "--backend", "onetrainer").stderr


MOD_YAML = """job: mod
config:
  name: rescaled
  process:
    - type: rescale_lora
      input_path: in.safetensors
      output_pth: out.safetensors
      current_weight: 6.0
      target_weight: 1.0
"""


def test_a_mod_job_is_checked_against_its_own_process(tmp_path) -> None:
    path = tmp_path / "mod.yaml"
    path.write_text(MOD_YAML, encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "errors:",
        f"{path}: config.process[0].output_pth: unknown key (did you mean 'output_path'?) (ModRescaleLoraProcess does "
        "not read it; ai-toolkit ignores keys it does not know, so this setting has no effect)",
        f"{path}: config.process[0].output_path: missing; ai-toolkit stops without it (add 'output_path:')",
        "info:",
        f"{path}: job: 'mod' (ModJob) is not a training job: the FLUX LoRA rules do not apply; only the keys the job "
        "and its processes read were checked",
        f"{path}: failed: 2 errors, 0 warnings, 1 info (ai-toolkit-config)",
    ]
