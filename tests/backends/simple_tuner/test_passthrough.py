"""SimpleTuner's pass-through `trainer: {simpletuner: {config: {...}, datasets: {...}}}`: checked by its loader's key
knowledge, merged into config.json and the image dataset last, each value with its origin, carried by the header,
and read by SimpleTuner's own loaders (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fluxgen.errors import ConfigErrors
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan, render_plan_to
from helpers import cli_run

SETS = ["trainer.simpletuner.config.max_grad_norm=0.5", "trainer.simpletuner.config.snr_gamma=5",
        "trainer.simpletuner.config.lora_init_type=gaussian", "trainer.simpletuner.datasets.crop_style=random",
        "trainer.simpletuner.datasets.minimum_image_size=256"]


@pytest.fixture(autouse=True)
def _no_bnb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: False)


def _plan(images: Path, sets: list[str]):
    return build_plan("cyber-skull", PlanOptions(images=str(images), backend="simpletuner", sets=sets))


def test_values_land_where_simpletuner_reads_them(skull20: Path) -> None:
    files = render_plan(_plan(skull20, SETS))
    config = json.loads(files["config.json"])
    images, text = json.loads(files["multidatabackend.json"])
    assert (config["max_grad_norm"], config["snr_gamma"], config["lora_init_type"]) == (0.5, 5, "gaussian")
    assert (images["crop_style"], images["minimum_image_size"]) == ("random", 256)
    assert "crop_style" not in text


def test_each_value_has_its_origin_and_explain_shows_it(skull20: Path) -> None:
    key = "trainer.simpletuner.config.max_grad_norm"
    plan = _plan(skull20, SETS)
    assert plan.origins[key] == "command line --set trainer.simpletuner.config.max_grad_norm=0.5"
    result = cli_run("explain", "cyber-skull", "--images", str(skull20), "--backend", "simpletuner",
                     "--set", SETS[0], key)
    assert result.exit_code == 0, result.output
    assert f"{key} = 0.5" in result.stdout


@pytest.mark.parametrize(("item", "message"), [
    ("config.noise_ofset=0.05", r"config\.noise_ofset: unknown key: SimpleTuner's parser stops on it "
                                r"\(did you mean 'noise_offset'\?\)"),
    ("config.max_grad_norm=high", r"config\.max_grad_norm: must be a number, not a string"),
    ("config.lora_init_type=l3", r"config\.lora_init_type: .l3. is not one of SimpleTuner's choices"),
    ("config.snr_gam=5", r"config\.snr_gam: not an option name: SimpleTuner's parser takes it as an abbreviation"),
    ("datasets.crop_styel=random", r"datasets\.crop_styel: SimpleTuner does not read this key; it is ignored "
                                   r"\(did you mean 'crop_style'\?\)"),
    ("datasets.crop_style=diagonal", r"datasets\.crop_style: 'diagonal' is not one of SimpleTuner's choices"),
    ("confg.noise_offset=1", r"trainer\.simpletuner\.confg: unknown section \(did you mean 'config'\?\)"),
    ("datasets.hf_token=hf_abc", r"datasets\.hf_token: a secret never goes into a file fluxgen writes"),
    ("datasets.aws_secret_access_key=abc", r"aws_secret_access_key: a secret never goes into a file"),
])
def test_simpletuners_key_knowledge_checks_it(item: str, message: str, skull20: Path) -> None:
    with pytest.raises(ConfigErrors, match=message):
        _plan(skull20, [f"trainer.simpletuner.{item}"])


@pytest.mark.parametrize(("item", "modelled"), [
    ("config.learning_rate=0.001", "set train.lr in the intent instead"),
    ("config.lora_rank=8", "set network.rank in the intent instead"),
    ("config.checkpointing_steps=10", "sets 'checkpoint_step_interval', a modelled setting: set save.every"),
    ("config.output_dir=elsewhere", "fluxgen writes it from the plan"),
    ("datasets.repeats=3", "set dataset.repeats in the intent instead"),
    ("datasets.instance_data_dir=/x", "set dataset.path in the intent instead"),
])
def test_a_modelled_key_is_refused_naming_the_intent_key(item: str, modelled: str, skull20: Path) -> None:
    with pytest.raises(ConfigErrors, match=modelled):
        _plan(skull20, [f"trainer.simpletuner.{item}"])


def test_the_header_carries_it_so_reproduce_does(tmp_path: Path, skull20: Path) -> None:
    plan = _plan(skull20, SETS)
    render_plan_to(plan, tmp_path / "out")
    again = build_plan(str(tmp_path / "out" / "command.txt"), PlanOptions())
    assert again.hash == plan.hash
    assert again.values["trainer.simpletuner.datasets.crop_style"] == "random"
    assert again.origins["trainer.simpletuner.config.max_grad_norm"].startswith("intent embedded in")


def test_rendered_files_with_it_validate_clean(tmp_path: Path, skull20: Path) -> None:
    render_plan_to(_plan(skull20, SETS), tmp_path / "out")
    for name in ("config.json", "multidatabackend.json"):
        result = cli_run("validate", str(tmp_path / "out" / name))
        assert result.exit_code == 0, result.output


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_simpletuners_own_loader_reads_the_values(tmp_path: Path, skull20: Path, st_python: str) -> None:
    from backends.simple_tuner.st_env import run_loader

    render_plan_to(_plan(skull20, [*SETS, "train.optimizer=adamw"]), tmp_path / "out")  # no bitsandbytes on CPU
    config = run_loader(st_python, "config", str(tmp_path / "out" / "config.json"))
    assert config["ok"], config["errors"]
    args = config["args"]
    assert (args["max_grad_norm"], args["snr_gamma"], args["lora_init_type"]) == (0.5, 5, "gaussian")
    datasets = run_loader(st_python, "datasets", str(tmp_path / "out" / "multidatabackend.json"),
                          str(tmp_path / "out" / "config.json"))
    assert datasets == {"ok": True, "errors": []}


def test_modelled_settings_it_refuses_here_are_rendered_from_the_intent(skull20: Path) -> None:
    plan = _plan(skull20, ["network.dropout=0.1", "train.gradient_accumulation=2", "logging=all"])
    config = json.loads(render_plan(plan)["config.json"])
    assert (config["lora_dropout"], config["gradient_accumulation_steps"]) == (0.1, 2)
    assert (config["report_to"], config["logging_dir"]) == ("tensorboard,wandb", "logs")
