"""A config file planned on one machine and reproduced on another that resolves it differently says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan_to
from fluxgen.runs.reproduce import differences, read_source


def test_a_builtin_plan_is_the_same_with_and_without_bitsandbytes(tmp_path: Path, skull20: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan (and its hash) is what the user asked for; the 8-bit fallback is the trainer's, at launch."""
    hashes = set()
    for available in (False, True):
        monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda a=available: a)
        plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), backend="builtin"))
        render_plan_to(plan, tmp_path / str(available))
        hashes.add(plan.hash)
        assert plan.values["optimizer"] == "adamw8bit"
    assert len(hashes) == 1
    assert (tmp_path / "False" / "train.yaml").read_bytes() == (tmp_path / "True" / "train.yaml").read_bytes()
    config = tmp_path / "False" / "train.yaml"
    here = build_plan(str(config), PlanOptions())
    assert not any("plan differs" in n for n in differences(read_source(config), here))
