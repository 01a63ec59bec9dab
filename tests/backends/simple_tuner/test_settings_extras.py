"""The optional training settings SimpleTuner can do, rendered under its names (golden files), validated by fluxgen,
and read by SimpleTuner's own loader in its own Python; what it cannot do is refused with the reason its code gives."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from backends.simple_tuner.st_env import run_loader
from test_render import GOLDEN, check_golden, normalise

from fluxgen.backends.simple_tuner.validator import validate_text
from fluxgen.errors import UserError
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan, render_plan_to

SETS = ["network.dropout=0.1", "train.gradient_accumulation=2", "train.ema=true", "train.ema_decay=0.99",
        "samples.first=true", "logging=all"]
WANT = {"lora_dropout": 0.1, "gradient_accumulation_steps": 2, "use_ema": True, "ema_decay": 0.99,
        "validation_on_startup": True, "report_to": "tensorboard,wandb", "logging_dir": "logs"}


def _plan(images: Path, sets: list[str]):
    return build_plan("cyber-skull", PlanOptions(images=str(images), backend="simpletuner", vram=24, sets=sets))


def test_golden_extras(skull20: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUXGEN_SIMPLETUNER_PYTHON", sys.executable)  # command.txt names the current Python
    files = render_plan(_plan(skull20, SETS))
    folder = GOLDEN / "extras.cyber-skull.simpletuner"
    for name, text in files.items():
        got = normalise(text, skull20)
        check_golden(folder / name, got)
    config = json.loads(files["config.json"])
    assert {k: config[k] for k in WANT} == WANT
    report = validate_text(files["config.json"], "config.json")
    assert (report.errors, report.warnings) == ([], [])


@pytest.mark.parametrize(("item", "reason"), [
    ("network.blocks=single", r"adapter\.py:57-135"),
    ("train.text_encoder_lr=5e-5", r"cmd_args\.py:443-463"),
    ("train.shuffle_captions=true", r"prompts\.py:175-199"),
    ("train.ema_decay=0.9", r"train\.ema_decay: EMA is off"),
])
def test_refused_with_the_reason(item: str, reason: str, skull20: Path) -> None:
    sets = ["network.train_text_encoder=true", item] if "text_encoder_lr" in item else [item]
    with pytest.raises(UserError, match=reason):
        _plan(skull20, sets)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_simpletuner_reads_the_settings_and_refuses_a_fractional_text_encoder_lr(tmp_path: Path,
                                                                                  skull20: Path,
                                                                                  st_python: str) -> None:
    """The values arrive under SimpleTuner's names; and the text_encoder_lr refusal is true of its parser."""
    render_plan_to(_plan(skull20, [*SETS, "train.optimizer=adamw"]), tmp_path / "cfg")
    loaded = run_loader(st_python, "config", str(tmp_path / "cfg" / "config.json"))
    assert loaded["ok"], loaded["errors"]
    args = loaded["args"]
    assert {k: args[k] for k in WANT if k not in ("report_to", "logging_dir")} == {
        k: v for k, v in WANT.items() if k not in ("report_to", "logging_dir")}
    assert args["report_to"] in ("tensorboard,wandb", ["tensorboard", "wandb"]), args["report_to"]
    assert Path(args["logging_dir"]).parts[-2:] == ("output", "logs")  # inside the run folder
    config = json.loads((tmp_path / "cfg" / "config.json").read_text(encoding="utf-8"))
    config.update(train_text_encoder=True, text_encoder_lr=5e-5)
    (tmp_path / "te.json").write_text(json.dumps(config), encoding="utf-8")
    refused = run_loader(st_python, "config", str(tmp_path / "te.json"))
    assert not refused["ok"] and "text_encoder_lr" in " ".join(refused["errors"]), refused


@pytest.mark.parametrize("item", ["dataset.masks=none", "train.shuffle_captions=false", "train.workers=0"])
def test_off_is_not_refused(item: str, skull20: Path) -> None:
    """Saying 'off' to what SimpleTuner does not do anyway is accepted (presets written for every trainer say so)."""
    _plan(skull20, [item])
