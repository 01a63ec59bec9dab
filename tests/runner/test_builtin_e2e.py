"""The real thing on a CPU: a tiny random FLUX.1, the builtin trainer, through the CLI — train, Ctrl-C, resume,
reproduce — and the outputs checked."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from runner.support import QUIET_CHILD, interrupt, manifest, only_run, start_cli, wait_for, wait_group_gone

from helpers import cli_run, make_images

PLAN = ("--backend", "builtin", "--steps", "60", "--set", "save.every=5", "--set", "samples.every=30",
        "--set", "train.resolution=64", "--set", "samples.size=64", "--set", "samples.steps=2",
        "--set", "train.optimizer=adamw", "--no-report")


@pytest.fixture
def one_thread(monkeypatch: pytest.MonkeyPatch):
    """One thread for torch here (`fluxgen model tiny` runs in-process) and in every trainer started: with two
    test workers each running a trainer, more threads than cores make every step crawl."""
    import torch

    for key, value in QUIET_CHILD.items():
        monkeypatch.setenv(key, value)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.timeout(300)  # trains, interrupts, resumes and reproduces: ~60 s idle, over 120 s on a busy 2-core machine
def test_tiny_model_train_interrupt_resume_reproduce(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     one_thread: None) -> None:
    monkeypatch.chdir(tmp_path)
    built = cli_run("model", "tiny", str(tmp_path / "tiny"))
    assert built.exit_code == 0, built.stderr
    images = make_images(tmp_path / "skull", 3, size=64)
    args = ["train", "cyber-skull", "--images", str(images), "--set", f"model.base={tmp_path / 'tiny'}", *PLAN]

    proc = start_cli(args, {}, tmp_path)
    wait_for(tmp_path / "runs", "*/train.log", "saved checkpoint step 5:", timeout=60)
    out, err = interrupt(proc, signal.SIGINT, timeout=60)
    assert proc.returncode == 130, err
    run = only_run(tmp_path / "runs")
    first = manifest(run)
    assert first["status"] == "interrupted" and "The last checkpoint is output/cyber-skull_" in err
    assert wait_group_gone(first["attempts"][0]["pid"]) == []

    resumed = cli_run("resume", str(run))
    assert resumed.exit_code == 0, resumed.stderr
    m = manifest(run)
    expected = m["attempts"][1]["resume"]["step"]
    assert 5 <= expected < 60 and m["attempts"][1]["resumed_from"] == expected
    assert (m["status"], m["last_step"], m["final_lora"]) == ("completed", 60, "output/cyber-skull.safetensors")
    assert {s["step"] for s in m["samples"]} >= {60}

    from safetensors import safe_open

    with safe_open(str(run / m["final_lora"]), framework="numpy") as lora:
        meta = lora.metadata()
        assert len(list(lora.keys())) > 0
    assert meta["fluxgen.plan_hash"] == m["plan_hash"]

    again = cli_run("reproduce", str(run), "--no-report")
    assert again.exit_code == 0, again.stderr
    copy = Path(again.stdout.split("run folder: ", 1)[1].splitlines()[0])
    assert (copy / "train.yaml").read_bytes() == (run / "train.yaml").read_bytes()
    assert manifest(copy)["status"] == "completed"

    inspected = cli_run("lora", "inspect", str(run / m["final_lora"]), "--json")
    assert inspected.exit_code == 0, inspected.stderr
    info = json.loads(inspected.stdout)
    assert (info["format"], info["trigger"], info["steps"]) == ("peft/diffusers", "CSKULL", 60)
    assert info["ranks"] == {"32": 20} and info["fluxgen"]["plan_hash"] == m["plan_hash"]
    _generate_with(tmp_path / "tiny", run / m["final_lora"])


def _generate_with(model: Path, lora: Path) -> None:
    """The LoRA loads into a FluxPipeline built from the tiny folder and changes what it generates."""
    import numpy as np
    import torch
    from diffusers import FluxPipeline

    pipe = FluxPipeline.from_pretrained(str(model), torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    kwargs = dict(prompt="CSKULL", height=64, width=64, num_inference_steps=2, guidance_scale=1.0,
                  output_type="np", max_sequence_length=32)
    plain = pipe(generator=torch.Generator().manual_seed(0), **kwargs).images[0]
    pipe.load_lora_weights(str(lora))
    styled = pipe(generator=torch.Generator().manual_seed(0), **kwargs).images[0]
    assert styled.shape == (64, 64, 3) and np.isfinite(styled).all()
    assert not np.allclose(plain, styled), "the LoRA did not change the output"
