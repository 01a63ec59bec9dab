"""The several-folders example rendered for SimpleTuner passes SimpleTuner's own data-backend config classes: one
image dataset per folder and resolution, the reg folder flagged `is_regularisation_data`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from backends.simple_tuner.st_env import run_loader

from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan_to


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_several_folders_pass_simpletuners_loaders(tmp_path: Path, st_python: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from test_several_folders import make_folders

    monkeypatch.setenv("FLUXGEN_SIMPLETUNER_PYTHON", st_python)
    root = make_folders(tmp_path / "data")
    render_plan_to(build_plan(str(root / "intent.yaml"), PlanOptions(backend="simpletuner")), tmp_path / "cfg")
    entries = json.loads((tmp_path / "cfg" / "multidatabackend.json").read_text(encoding="utf-8"))
    assert [(Path(e["instance_data_dir"]).name, e["resolution"], e.get("is_regularisation_data", False),
             e["repeats"]) for e in entries if "instance_data_dir" in e] == [
        ("closeups", 1024, False, 1), ("closeups", 768, False, 1), ("closeups", 512, False, 1),
        ("fullbody", 1024, False, 0), ("fullbody", 768, False, 0), ("fullbody", 512, False, 0),
        ("reg-woman", 1024, True, 0)]
    assert len({e["cache_dir_vae"] for e in entries if "instance_data_dir" in e}) == 7  # one latent cache each
    verdict = run_loader(st_python, "datasets", str(tmp_path / "cfg" / "multidatabackend.json"),
                         str(tmp_path / "cfg" / "config.json"))
    assert verdict == {"ok": True, "errors": []}
