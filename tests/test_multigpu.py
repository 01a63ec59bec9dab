"""`fluxgen train --gpus N`: sd-scripts through `accelerate launch --multi_gpu` with the steps rescaled, the builtin
trainer under torchrun, ai-toolkit refused with the alternatives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from fluxgen.multigpu import for_gpus
from fluxgen.plan import PlanOptions, build_plan
from helpers import cli_run, make_images


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_images(tmp_path_factory.mktemp("mg") / "img", 3, size=64)


def test_sd_scripts_divides_steps_and_launches_multi_gpu(images: Path, tmp_path: Path) -> None:
    from fluxgen.render import render_plan_to

    plan = build_plan("cyber-skull", PlanOptions(images=str(images), backend="sd-scripts"))
    four = for_gpus(plan, 4)
    assert (plan.values["steps"], four.values["steps"]) == (300, 75)
    assert (four.values["save_every"], four.values["gpus"]) == (63, 4)
    assert four.origins["steps"].startswith("300 ÷ 4 GPUs, rounded up: sd-scripts with N processes takes batch × N")
    assert four.hash != plan.hash and for_gpus(plan, 1) is plan
    render_plan_to(four, tmp_path / "out")
    sections = tomllib.loads((tmp_path / "out" / "args.toml").read_text(encoding="utf-8"))
    args = {k: v for section in sections.values() for k, v in section.items()}  # sd-scripts reads it flat
    assert (args["max_train_steps"], args["save_every_n_steps"]) == (75, 63)
    command = (tmp_path / "out" / "command.txt").read_text(encoding="utf-8")
    assert "accelerate.commands.launch --multi_gpu --num_processes 4 --num_machines 1" in command


@pytest.mark.slow
def test_the_accelerate_launch_flags_start_n_processes(tmp_path: Path) -> None:
    """The launcher part of the sd-scripts command, run by the real accelerate (gloo on a CPU)."""
    from fluxgen.backends import BACKENDS

    script = tmp_path / "launch.py"
    # each rank writes its own file: the workers share one stdout, where their lines can interleave
    script.write_text("import os, pathlib, sys\n"
                      "pathlib.Path(sys.argv[1], 'rank' + os.environ['RANK']).write_text(os.environ['WORLD_SIZE'])\n")
    argv = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
            "--dynamo_backend", "no", "--mixed_precision", "no", "--num_cpu_threads_per_process", "1", str(script),
            str(tmp_path)]
    done = subprocess.run(BACKENDS["sd-scripts"].argv_for_gpus(argv, 2), capture_output=True, text=True, timeout=100,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert {p.name: p.read_text() for p in tmp_path.glob("rank*")} == {"rank0": "2", "rank1": "2"}


def test_ai_toolkit_refuses_with_the_alternatives(images: Path, tmp_path: Path) -> None:
    result = cli_run("train", "cyber-skull", "--images", str(images), "--gpus", "2", "--runs", str(tmp_path / "r"))
    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: --gpus 2: ai-toolkit has no data parallelism at its pin")
    assert "fluxgen sweep INTENT --grid" in line and "split_model_over_gpus: true" in line
    assert not (tmp_path / "r").exists()


def test_builtin_dry_run_shows_torchrun(images: Path) -> None:
    result = cli_run("train", "cyber-skull", "--images", str(images), "--backend", "builtin", "--gpus", "2",
                     "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "-m torch.distributed.run --standalone --nproc_per_node 2 -m fluxgen.trainer train.yaml" in result.stdout


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_builtin_train_on_two_processes_end_to_end(images: Path, tmp_path: Path, monkeypatch) -> None:
    from fluxgen.tiny import build_tiny_flux

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    tiny = build_tiny_flux(tmp_path / "tiny", seed=0)
    result = cli_run("train", "cyber-skull", "--images", str(images), "--backend", "builtin", "--gpus", "2",
                     "--set", f"model.base={tiny}", "--steps", "4", "--set", "save.every=2", "--set",
                     "samples.every=4", "--set", "train.resolution=64", "--set", "samples.size=64", "--set",
                     "samples.steps=1", "--set", 'samples.prompts=["a skull"]', "--set", "train.optimizer=adamw",
                     "--runs", str(tmp_path / "runs"), "--no-report")
    assert result.exit_code == 0, result.stderr
    run = next((tmp_path / "runs").iterdir())
    m = json.loads((run / "manifest.json").read_text())
    assert (m["status"], m["last_step"], m["final_lora"]) == ("completed", 2, "output/cyber-skull.safetensors")
    assert "torch.distributed.run" in m["attempts"][0]["argv"]
    plan = json.loads((run / "plan.json").read_text())
    assert plan["values"]["gpus"] == 2 and plan["origins"]["steps"].startswith("4 ÷ 2 GPUs")
