"""Every preset renders for SimpleTuner: golden files under tests/golden/<preset>.simpletuner/, compared exactly as
the other backends' are (FLUXGEN_UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_render import GOLDEN, PRESETS, check_golden, normalise

from fluxgen.backends.simple_tuner.validator import validate_text
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan


@pytest.mark.parametrize("preset", PRESETS)
def test_golden(preset: str, skull20: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUXGEN_SIMPLETUNER_PYTHON", sys.executable)  # command.txt names the current Python
    plan = build_plan(preset, PlanOptions(images=str(skull20), backend="simpletuner", trigger=None))
    files = render_plan(plan)
    assert sorted(files) == ["command.txt", "config.json", "multidatabackend.json", "prompt_library.json"]
    folder = GOLDEN / f"{preset}.simpletuner"
    for name, text in files.items():
        got = normalise(text, skull20)
        check_golden(folder / name, got)
        if name.endswith(".json") and name != "prompt_library.json":
            report = validate_text(text, name)
            assert (report.errors, report.warnings) == ([], [])
    config = json.loads(files["config.json"])
    assert (config["lora_rank"], config["max_train_steps"]) == (plan.values["rank"], plan.values["steps"])


