"""Every user-facing error of the planning commands: one line on stderr naming the file and the fix, exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import cli_run, make_images


def one_line_error(result, message: str) -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")


def test_markup_like_triggers_are_shown_as_they_are(skull20: Path) -> None:
    r = cli_run("plan", "subject", "--images", str(skull20), "--trigger", "[/x]")
    assert r.exit_code == 0, r.stderr
    assert "[/x]" in r.stdout
    r = cli_run("plan", "style", "--images", str(skull20), "--trigger", "GXSTYLE")
    assert "[trigger] style" in r.stdout


def test_write_errors_are_one_line(tmp_path: Path, skull20: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x", encoding="utf-8")
    one_line_error(cli_run("render", "cyber-skull", "--images", str(skull20), "--out", str(blocker / "sub")),
                   "cannot write")
    one_line_error(cli_run("presets", "cp", "cyber-skull", str(blocker / "x.yaml")), "cannot write")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("kind: subjekt\n", "kind: 'subjekt' is not allowed (did you mean 'subject'?"),
        ("backend: kohyaa\n", "backend: unknown backend 'kohyaa' (did you mean 'sd-scripts'?)"),
        ("- a\n- b\n", "an intent is a YAML mapping"),
        ("samples:\n  prompts: [\"two\\nlines\"]\n", "samples.prompts: prompt 1 must be one line"),
        ("train: {optimizer: adamw8bt}\n", "train.optimizer 'adamw8bt' (preset"),
        ("train: {lr: 2}\n", "train.lr: Input should be less than 1"),
    ],
)
def test_intent_file_errors_name_the_file(content: str, message: str, tmp_path: Path, skull20: Path) -> None:
    intent = tmp_path / "mine.yaml"
    intent.write_text(content, encoding="utf-8")
    r = cli_run("plan", str(intent), "--images", str(skull20))
    one_line_error(r, message)
    if "optimizer" not in message:
        assert "mine.yaml" in r.stderr


def test_optimizer_typo_on_the_command_line_names_the_option(skull20: Path) -> None:
    r = cli_run("plan", "cyber-skull", "--images", str(skull20), "--set", "train.optimizer=adamw8bt")
    one_line_error(r, "train.optimizer 'adamw8bt' (command line --set train.optimizer=adamw8bt): ai-toolkit has no "
                      "such optimizer (did you mean 'adamw8bit'?")
    r = cli_run("plan", "cyber-skull", "--images", str(skull20), "--backend", "kohya", "--set", "train.scheduler=cosin")
    one_line_error(r, "did you mean 'cosine'?")


def test_file_level_errors(tmp_path: Path, skull20: Path) -> None:
    one_line_error(cli_run("plan", str(tmp_path / "missing.yaml")), "no such intent file")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("trigger: caf\xe9\n".encode("latin-1"))
    one_line_error(cli_run("plan", str(latin), "--images", str(skull20)), "not UTF-8 text; save it as UTF-8")
    for i in range(18):
        (tmp_path / f"c{i}.yaml").write_text(f"extends: c{i + 1}.yaml\n" if i < 17 else "kind: subject\n",
                                             encoding="utf-8")
    one_line_error(cli_run("plan", str(tmp_path / "c0.yaml"), "--images", str(skull20)), "levels of `extends`")
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("train: [unclosed\n", encoding="utf-8")
    one_line_error(cli_run("plan", str(bad_yaml), "--images", str(skull20)), "not valid YAML")


def test_alias_bomb_and_env_tokens_via_cli(tmp_path: Path, skull20: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    one_line_error(cli_run("plan", str(bomb)), "anchors/aliases expand")
    r = cli_run("render", "--kind", "subject", "--images", str(skull20), "--trigger", "A${HOME}", "--out",
                str(tmp_path / "o"))
    one_line_error(r, "ai-toolkit would replace")


def test_damaged_embedded_header(tmp_path: Path, skull20: Path) -> None:
    out = tmp_path / "o"
    assert cli_run("render", "cyber-skull", "--images", str(skull20), "--out", str(out)).exit_code == 0
    config = out / "config.yaml"
    text = config.read_text(encoding="utf-8").replace('"intent":{', '"intent":{{', 1)
    config.write_text(text, encoding="utf-8")
    one_line_error(cli_run("plan", str(config)), "fluxgen-intent header is damaged")


def test_model_base_errors(tmp_path: Path, skull20: Path) -> None:
    not_flux = tmp_path / "nf"
    not_flux.mkdir()
    one_line_error(cli_run("plan", "cyber-skull", "--images", str(skull20), "--set", f"model.base={not_flux}"),
                   "not a diffusers FLUX folder")
    one_line_error(cli_run("plan", "cyber-skull", "--images", str(skull20), "--set", "model.base=./nowhere/x/y"),
                   "not 'dev', 'schnell', a hub id")
    r = cli_run("plan", "cyber-skull", "--images", str(skull20), "--backend", "sd-scripts",
                "--set", "model.base=someorg/my-flux-finetune")
    one_line_error(r, "pass --set model.transformer=PATH --set model.ae=PATH")
    ok = cli_run("plan", "cyber-skull", "--images", str(skull20), "--backend", "sd-scripts", "--json",
                 "--set", "model.base=someorg/my-flux-finetune", "--set", "model.transformer=/m/t.safetensors",
                 "--set", "model.ae=/m/ae.safetensors")
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["values"]["model.transformer"] == "/m/t.safetensors"
    sharded = tmp_path / "sharded"
    (sharded / "transformer").mkdir(parents=True)
    (sharded / "transformer" / "diffusion_pytorch_model.safetensors.index.json").write_text("{}", encoding="utf-8")
    r = cli_run("plan", "cyber-skull", "--images", str(skull20), "--backend", "sd-scripts",
                "--set", f"model.base={sharded}")
    one_line_error(r, "is sharded into several files")


def test_a_user_preset_named_like_a_kind_does_not_hide_the_kind(tmp_path: Path, skull20: Path, monkeypatch) -> None:
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "subject.yaml").write_text("# mine\nextends: cyber-skull\nnetwork: {rank: 4}\n",
                                                       encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    r = cli_run("plan", "cyber-skull", "--images", str(skull20), "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["values"]["rank"] == 32


def test_sd_scripts_reads_only_the_top_level(tmp_path: Path) -> None:
    root = make_images(tmp_path / "data", 5, size=256)
    make_images(root / "sub", 2, size=256)
    r = cli_run("plan", "cyber-skull", "--images", str(root), "--backend", "sd-scripts", "--json")
    data = json.loads(r.stdout)
    assert data["values"]["images"] == 5 and data["values"]["steps"] == 500
    assert any("subfolders" in w["message"] for w in data["warnings"])
    only_nested = tmp_path / "nested"
    make_images(only_nested / "10_skull", 3, size=256)
    one_line_error(cli_run("plan", "cyber-skull", "--images", str(only_nested), "--backend", "sd-scripts"),
                   "are in subfolders")


def test_explain_suggests_the_plan_key_for_an_intent_path(skull20: Path) -> None:
    r = cli_run("explain", "cyber-skull", "train.lr", "--images", str(skull20))
    one_line_error(r, "did you mean 'lr'?")
    r = cli_run("explain", "cyber-skull", "ema", "ema_decay", "--images", str(skull20))
    assert r.exit_code == 0 and "ref:ai-toolkit §3" in r.stdout
