"""Diagnoses through the CLI that need the runner's knowledge: secrets kept out of every record, the kernel's
OOM kill under accelerate, a trainer environment that lacks a module, fixes that name `fluxgen resume`."""

from __future__ import annotations

import sys
from pathlib import Path

from runner.support import manifest, only_run, train_args

from helpers import cli_run

TOKEN = "hf_QwErTy0123456789leaky"


def test_a_token_the_trainer_prints_reaches_no_record_and_no_output(fake_env, images: Path, model_dir: Path,
                                                                    tmp_path: Path) -> None:
    args = [a for a in train_args(images, model_dir) if a != "--no-report"]  # the report must be clean too
    result = cli_run(*args, env={"HF_TOKEN": TOKEN, "FAKE_SCENARIO": "token-error"})
    assert result.exit_code == 1
    run = only_run(tmp_path / "runs")
    m = manifest(run)
    assert m["diagnosis"]["code"] == "crash" and "with token ***: connection reset" in m["diagnosis"]["message"]
    assert (run / "report.html").is_file()
    leaks = [str(p.relative_to(run)) for p in run.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == []
    assert TOKEN not in result.stdout and TOKEN not in result.stderr
    assert "with token ***" in result.stderr.splitlines()[-1]


def test_sd_scripts_killed_by_the_kernel_is_a_ram_problem(fake_env, images: Path, model_dir: Path,
                                                          tmp_path: Path) -> None:
    """accelerate turns the trainer's SIGKILL into `CalledProcessError … died with <Signals.SIGKILL: 9>.` and
    exit 1: that is the system running out of RAM (seed:002), not a crash to debug."""
    result = cli_run(*train_args(images, model_dir, backend="sd-scripts"), env={"FAKE_SCENARIO": "killed"})
    assert result.exit_code == 1
    run = only_run(tmp_path / "runs")
    m = manifest(run)
    assert "died with <Signals.SIGKILL: 9>" in (run / "train.log").read_text()
    assert (m["exit_code"], m["diagnosis"]["code"]) == (1, "out_of_memory")
    assert m["diagnosis"]["message"].startswith("The trainer was killed (SIGKILL) at step 3")
    assert "64 GB to be safe (seed:002 ran out at 32 GB while caching latents" in m["diagnosis"]["fix"]
    assert "`--set train.workers=1`" in m["diagnosis"]["fix"]


def test_a_missing_module_is_an_environment_problem(fake_env, images: Path, model_dir: Path,
                                                    tmp_path: Path) -> None:
    result = cli_run(*train_args(images, model_dir), env={"FAKE_SCENARIO": "missing-module"})
    assert result.exit_code == 1
    m = manifest(only_run(tmp_path / "runs"))
    d = m["diagnosis"]
    assert d["code"] == "environment" and d["message"] == f"The trainer's Python ({sys.executable}) cannot import oyaml."
    assert d["fix"].startswith(f"Install the trainer's requirements into {sys.executable}: "
                               f"`{sys.executable} -m pip install -r {fake_env['FLUXGEN_AI_TOOLKIT_DIR']}/requirements.txt`")
    assert "`fluxgen doctor`" in d["fix"]


def test_a_crash_names_the_resume_command(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    result = cli_run(*train_args(images, model_dir), env={"FAKE_SCENARIO": "crash"})
    run = only_run(tmp_path / "runs")
    fix = manifest(run)["diagnosis"]["fix"]
    assert fix.endswith(f"then `fluxgen resume {Path('runs') / run.name}` continues from the last checkpoint.")
    assert "fluxgen resume" in result.stderr.splitlines()[-1]


def test_a_full_disk_is_diagnosed_as_such_on_both_trainers(fake_env, images: Path, model_dir: Path,
                                                           tmp_path: Path) -> None:
    for backend in ("ai-toolkit", "sd-scripts"):
        runs = tmp_path / backend
        result = cli_run(*train_args(images, model_dir, "--runs", str(runs), backend=backend),
                         env={"FAKE_SCENARIO": "disk-full", "FAKE_AT_STEP": "4"})
        assert result.exit_code == 1
        run = only_run(runs)
        d = manifest(run)["diagnosis"]
        assert d["code"] == "disk_full" and "No space left on device" in d["message"], d
        assert f"`fluxgen resume {run}`" in d["fix"] and "Free space on the disk" in d["fix"]
