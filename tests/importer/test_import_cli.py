"""`fluxgen import` on the command line: exit codes, one-line errors, --out/--force, --minimal, --command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from helpers import cli_run, make_images

DATA = Path(__file__).parent / "data"


@pytest.fixture()
def aitk(tmp_path: Path) -> Path:
    shutil.copy(DATA / "ai-toolkit/portrait_lora_24gb.yaml", tmp_path / "their.yaml")
    make_images(tmp_path / "images", 3, size=512)
    return tmp_path / "their.yaml"


def test_prints_the_intent_with_origins(aitk: Path) -> None:
    result = cli_run("import", str(aitk))
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["network"]["rank"] == 16 and data["trigger"] == "m4rt4" and data["backend"] == "ai-toolkit"
    assert f"rank: 16  # imported from {aitk}:15 (config.process.0.network.linear)" in result.stdout
    assert data["trainer"] == {"ai-toolkit": {"device": "cuda:0", "save": {"push_to_hub": False}}}
    assert f'device: "cuda:0"  # imported from {aitk}:10 (config.process.0.device)' in result.stdout
    assert "values from" in result.stderr and "2 carried under trainer.ai-toolkit" in result.stderr


def test_writes_out_and_refuses_to_overwrite(aitk: Path, tmp_path: Path) -> None:
    out = tmp_path / "i.yaml"
    assert cli_run("import", str(aitk), "--out", str(out)).exit_code == 0
    before = out.read_text()
    result = cli_run("import", str(aitk), "--out", str(out))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {out}: already exists; pass --force to overwrite it"
    assert out.read_text() == before
    assert cli_run("import", str(aitk), "--out", str(out), "--force").exit_code == 0


def test_minimal_leaves_rule_values_to_the_rules_and_plans_the_same(aitk: Path, tmp_path: Path) -> None:
    full, small = tmp_path / "full.yaml", tmp_path / "small.yaml"
    assert cli_run("import", str(aitk), "--out", str(full)).exit_code == 0
    result = cli_run("import", str(aitk), "--minimal", "--out", str(small))
    assert result.exit_code == 0, result.stderr
    kept = yaml.safe_load(small.read_text())
    assert "lr" not in kept.get("train", {})  # 1e-4 is the rules' LR
    assert kept["network"]["rank"] == 16  # a subject's rule says 32
    plans = [cli_run("plan", str(p), "--json") for p in (full, small)]
    import json

    values = [json.loads(r.stdout)["values"] for r in plans]
    assert values[0] == values[1]


def test_minimal_needs_the_images(tmp_path: Path) -> None:
    shutil.copy(DATA / "ai-toolkit/portrait_lora_24gb.yaml", tmp_path / "their.yaml")
    result = cli_run("import", str(tmp_path / "their.yaml"), "--minimal")
    assert result.exit_code == 1
    assert "images" in result.stderr and "Traceback" not in result.stderr


def test_images_option_replaces_the_folder(aitk: Path, tmp_path: Path) -> None:
    other = make_images(tmp_path / "mine", 2, size=512)
    result = cli_run("import", str(aitk), "--images", str(other))
    assert yaml.safe_load(result.stdout)["dataset"]["path"] == str(other.resolve())
    assert "# command line --images" in result.stdout


def test_command_line_string(tmp_path: Path) -> None:
    shutil.copy(DATA / "sd-scripts/lowvram_dataset.toml", tmp_path / "ds.toml")
    cmd = ("accelerate launch flux_train_network.py --network_dim 8 --max_train_steps 300 "
           f"--dataset_config {tmp_path / 'ds.toml'} --network_train_unet_only --fp8_base --mixed_precision bf16")
    result = cli_run("import", "--backend", "sd-scripts", "--command", cmd)
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["network"]["rank"] == 8 and data["train"]["steps"] == 300
    assert "# imported from --command:1 (--network_dim)" in result.stdout


def test_args_and_dataset_given_together(tmp_path: Path) -> None:
    for name in ("lora_args.toml", "lora_dataset.toml"):
        shutil.copy(DATA / "sd-scripts" / name, tmp_path / name)
    (tmp_path / "elsewhere").mkdir()
    shutil.move(tmp_path / "lora_dataset.toml", tmp_path / "elsewhere/ds.toml")
    result = cli_run("import", str(tmp_path / "lora_args.toml"), str(tmp_path / "elsewhere/ds.toml"))
    assert result.exit_code == 0, result.stderr
    assert yaml.safe_load(result.stdout)["trigger"] == "br4ss lamp"


@pytest.mark.parametrize(("args", "code", "message"), [
    ((), 2, "give trainer FILES or --command STR"),
    (("x.yaml", "--command", "accelerate launch flux_train_network.py"), 2, "give trainer FILES or --command"),
    (("missing.yaml",), 1, "error: missing.yaml: no such file"),
    (("--command", "accelerate launch flux_train_network.py --network_dim 4"), 1, "pass --backend"),
    (("--backend", "sd-scripts", "--command", "python train.py --lr 1"), 1, "no flux_train_network.py call"),
    (("--backend", "simpletrainer", "x"), 1, "unknown backend 'simpletrainer'"),
])
def test_errors_are_one_line(args: tuple[str, ...], code: int, message: str, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").write_text("x", encoding="utf-8")
    result = cli_run("import", *args)
    assert result.exit_code == code
    lines = result.stderr.strip().splitlines()
    assert message in lines[-1]  # usage errors (2) follow click's usage line; the others are one line
    assert len(lines) == 1 or code == 2
    assert "Traceback" not in result.stderr


def test_sd_args_without_dataset_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('network_dim = 4\nmax_train_steps = 10\n', encoding="utf-8")
    result = cli_run("import", str(tmp_path / "a.toml"))
    assert result.exit_code == 1
    assert "no dataset_config" in result.stderr


def test_non_flux_ai_toolkit_job_is_refused(tmp_path: Path) -> None:
    text = (DATA / "ai-toolkit/portrait_lora_24gb.yaml").read_text().replace("is_flux: true", "is_v3: true")
    (tmp_path / "sd3.yaml").write_text(text, encoding="utf-8")
    result = cli_run("import", str(tmp_path / "sd3.yaml"))
    assert result.exit_code == 1
    assert "fluxgen plans FLUX.1 LoRAs only" in result.stderr


def test_round_trip_through_the_cli(aitk: Path, tmp_path: Path) -> None:
    """The colleague's run reproduced on another trainer, as the README shows it."""
    intent = tmp_path / "i.yaml"
    assert cli_run("import", str(aitk), "--out", str(intent)).exit_code == 0
    result = cli_run("render", str(intent), "--backend", "sd-scripts", "--out", str(tmp_path / "cfg"))
    assert result.exit_code == 0, result.stderr
    import tomllib

    args = tomllib.loads((tmp_path / "cfg/args.toml").read_text())
    assert args["network"]["network_dim"] == 16 and args["training"]["max_train_steps"] == 1200
    assert args["saving"]["output_name"] == "marta_portrait_v2"


def test_command_line_with_config_file_the_line_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sd-scripts adds .toml to --config_file and lets the command line override the file's options."""
    for name in ("lora_args.toml", "lora_dataset.toml", "lora_prompts.txt"):
        shutil.copy(DATA / "sd-scripts" / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    cmd = "accelerate launch flux_train_network.py --config_file lora_args --network_dim 32"
    result = cli_run("import", "--backend", "sd-scripts", "--command", cmd)
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["network"]["rank"] == 32 and data["train"]["steps"] == 1500
    assert "lora_args.toml:18 (max_train_steps)" in result.stdout
    assert "is relative; taken from the config's folder" in result.stdout


def test_dataset_toml_alone(tmp_path: Path) -> None:
    shutil.copy(DATA / "sd-scripts/lora_dataset.toml", tmp_path / "ds.toml")
    result = cli_run("import", str(tmp_path / "ds.toml"))
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["trigger"] == "br4ss lamp" and data["train"]["resolution"] == [1024] and "network" not in data
    assert "training options are left to fluxgen's rules" in result.stdout
