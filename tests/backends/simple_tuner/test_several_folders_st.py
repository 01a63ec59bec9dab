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
    root = make_folders(tmp_path / "data", ".txt")
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


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_train_tiny_flux_over_several_folders(tmp_path: Path, st_python: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two folders (one with repeats 2), a reg folder at one resolution, the others at two: SimpleTuner configures
    one image backend per folder and resolution and completes the run."""
    from helpers import cli_run, make_images

    monkeypatch.setenv("FLUXGEN_SIMPLETUNER_PYTHON", st_python)
    monkeypatch.chdir(tmp_path)
    assert cli_run("model", "tiny", str(tmp_path / "tiny")).exit_code == 0
    for name, trigger in (("closeups", "CSKULL"), ("fullbody", "CSKULL"), ("reg", None)):
        make_images(tmp_path / name, 4, size=128, trigger=trigger, caption="a skull")
    (tmp_path / "two.yaml").write_text("extends: cyber-skull\ndatasets:\n  - {path: closeups, repeats: 2}\n"
                                       "  - {path: fullbody}\n  - {path: reg, is_reg: true, resolution: [64]}\n",
                                       encoding="utf-8")
    trained = cli_run("train", "two.yaml", "--backend", "simpletuner", "--steps", "4", "--vram", "80",
                      "--set", "save.every=2", "--set", "samples.every=2", "--set", "train.resolution=[64, 128]",
                      "--set", "samples.size=64", "--set", "samples.steps=2", "--set", "train.precision=fp32",
                      "--set", "train.optimizer=adamw", "--set", f"model.base={tmp_path / 'tiny'}", "--no-report")
    assert trained.exit_code == 0, trained.stderr[-3000:]
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / "manifest.json").read_text(encoding="utf-8"))["status"] == "completed"
    log = (run / "train.log").read_text(encoding="utf-8", errors="replace")
    for ident in ("images", "images-64", "images-2", "images-2-64", "images-3"):
        assert f"Configured backend: {{'id': '{ident}'" in log, ident
    assert "'is_regularisation_data': True" in log or '"is_regularisation_data": true' in log
