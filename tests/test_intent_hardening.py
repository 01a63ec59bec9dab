"""Values the schema must refuse (or take) exactly: booleans are not numbers, numbers are finite and fit a trainer,
a key is given once, text is whole characters, paths are one line. Each refusal is one line naming file and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import cli_run


def one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.mark.parametrize(("text", "key"), [
    ("train:\n  steps: true\n", "train.steps"),
    ("network:\n  rank: yes\n", "network.rank"),
    ("save:\n  every: on\n", "save.every"),
    ("train:\n  resolution: [true]\n", "train.resolution"),
    ("vram: no\n", "vram"),
])
def test_booleans_are_not_numbers(tmp_path: Path, skull20: Path, text: str, key: str) -> None:
    intent = tmp_path / "i.yaml"
    intent.write_text(text)
    one_line_error(cli_run("plan", str(intent), "--images", str(skull20)), f"{intent}: {key}:", "boolean")


@pytest.mark.parametrize(("setting", "key"), [
    ("network.alpha=.inf", "network.alpha"), ("train.guidance=nan", "train.guidance"),
    ("train.lr=-.inf", "train.lr"), ("samples.guidance=inf", "samples.guidance"),
    ("train.seed=99999999999999999999", "train.seed"), ("save.every=9223372036854775808", "save.every"),
    ("train.optimizer_args={eps: .nan}", "train.optimizer_args"), ("train.resolution=[]", "train.resolution"),
])
def test_numbers_are_finite_and_fit(skull20: Path, setting: str, key: str) -> None:
    result = cli_run("plan", "subject", "--images", str(skull20), "--set", setting, "--json")
    one_line_error(result, key)
    assert result.stdout == ""


@pytest.mark.parametrize("text", [
    "network:\n  rank: 16\n  rank: 32\n",
    "kind: subject\ntrain:\n  lr: 1.0e-4\nkind: style\n",
    "samples:\n  prompts: [a]\n  every: 10\n  prompts: [b]\n",
])
def test_a_key_given_twice_in_an_intent_is_refused(tmp_path: Path, skull20: Path, text: str) -> None:
    intent = tmp_path / "dup.yaml"
    intent.write_text(text)
    one_line_error(cli_run("plan", str(intent), "--images", str(skull20)), str(intent), "appears twice")


@pytest.mark.parametrize(("text", "key"), [
    ('trigger: "CSKULL\\ud83d"\n', "trigger"),
    ('samples:\n  prompts: ["a photo of \\udc80"]\n', "samples.prompts"),
    ('name: "\\ud83dskull"\n', "name"),
    ('train:\n  optimizer_args: {betas: "\\ud800"}\n', "train.optimizer_args"),
    ('dataset:\n  path: "imgs\\0x"\n', "dataset.path"),
    ('model:\n  ae: "a\\nb.safetensors"\n', "model.ae"),
])
def test_half_characters_and_control_characters_are_refused(tmp_path: Path, skull20: Path, text: str,
                                                            key: str) -> None:
    intent = tmp_path / "odd.yaml"
    intent.write_text(text)
    for command in ("plan", "render"):
        args = [command, str(intent), "--images", str(skull20), "--backend", "sd-scripts"]
        one_line_error(cli_run(*args, *(["--out", str(tmp_path / "o")] if command == "render" else [])),
                       f"{intent}: {key}:")


@pytest.mark.parametrize("header", [
    '{"intent": ["subject"], "chain": []}', '{"intent": {}, "chain": "subject"}', '{"intent": {}, "chain": [1]}',
    '{"intent": "x"}',
])
def test_a_damaged_embedded_header_is_one_line(tmp_path: Path, skull20: Path, header: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"# fluxgen-intent: {header}\njob: extension\n")
    one_line_error(cli_run("plan", str(config), "--images", str(skull20)), str(config), "header is damaged")


@pytest.mark.parametrize("backend", ["ai-toolkit", "builtin"])
def test_single_model_files_on_a_backend_that_loads_model_base_are_noted(skull20: Path, backend: str) -> None:
    result = cli_run("plan", "subject", "--images", str(skull20), "--backend", backend,
                     "--set", "model.clip_l=/models/clip_l.safetensors", "--set", "model.ae=/models/ae.safetensors")
    assert result.exit_code == 0, result.stderr
    assert "only sd-scripts reads single model files" in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["two\nlines.yaml", "tab\there.yaml", "cr\rret.yaml"])
def test_an_intent_file_name_with_a_line_break_stays_in_its_header_line(tmp_path: Path, skull20: Path,
                                                                         name: str) -> None:
    intent = tmp_path / name
    intent.write_text("kind: subject\ntrigger: CSKULL\n")
    out = tmp_path / "out"
    result = cli_run("render", str(intent), "--images", str(skull20), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    text = (out / "config.yaml").read_text()
    assert all(line.startswith("#") or not line.strip() or not line.startswith(("lines", "here", "ret"))
               for line in text.splitlines())
    again = cli_run("plan", str(out / "config.yaml"), "--images", str(skull20), "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["hash"]
