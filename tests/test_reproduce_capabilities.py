"""A config file planned on one machine and reproduced on another that resolves it differently says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan_to
from fluxgen.runs.reproduce import differences, read_source


def test_reproduce_notes_a_plan_that_resolves_differently(tmp_path: Path, skull20: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: False)
    plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), backend="builtin"))
    render_plan_to(plan, tmp_path / "theirs")
    config = tmp_path / "theirs" / "train.yaml"
    same = build_plan(str(config), PlanOptions())
    assert not any("plan differs" in n for n in differences(read_source(config), same))
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: True)
    here = build_plan(str(config), PlanOptions())
    assert here.values["optimizer"] == "adamw8bit"
    notes = differences(read_source(config), here)
    assert any(f"theirs {plan.hash}, yours {here.hash}" in n for n in notes)
