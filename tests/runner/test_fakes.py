"""The doubles are faithful: on the captured jobs' configs, their console reads as the real captures read."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from runner.support import AITK, LOGS, SD, needs_captures

from fluxgen.monitor import parse_streams
from fluxgen.monitor.diagnose import summarize
from helpers import make_images

pytestmark = needs_captures


def signature(events) -> list[tuple]:
    """What a run did, independent of paths, losses and redraw counts: steps, saves (by file name), samples,
    resume, errors."""
    out: list[tuple] = []
    for e in events:
        if e.type == "progress":
            if out and out[-1][:2] == ("progress", e.step):
                continue  # a second redraw of the same step (its loss arriving)
            out.append(("progress", e.step, e.total))
        elif e.type == "checkpoint":
            out.append(("checkpoint", e.step, Path(e.path).name, e.final))
        elif e.type in ("sample", "resume"):
            out.append((e.type, e.step))
        elif e.type == "error":
            out.append(("error", e.code))
    return out


def run_double(argv: list[str], cwd: Path, **env: str) -> tuple[str, str, int]:
    """Run a double in its own group; its worker stand-in (like a data loader's) is killed with the group."""
    proc = subprocess.Popen([sys.executable, *argv], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            env={**os.environ, "FAKE_SPEED": "500", "FAKE_LOGS": str(LOGS), "COLUMNS": "200", **env})
    try:
        code = proc.wait(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    out, err = proc.communicate()
    return out, err, code


def captured(*names: str) -> list:
    return parse_streams("ai-toolkit" if names[0].startswith("ai") else "sd-scripts",
                         [(LOGS / n).read_text(encoding="utf-8", errors="replace") for n in names])


@pytest.fixture
def aitk_job(tmp_path: Path) -> Path:
    """The captured job's own config.yaml, with its dataset and output folders here."""
    data = make_images(tmp_path / "tiny", 3, size=64, trigger="p3r5on")
    text = (LOGS / "ai-toolkit" / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("/data/runs", str(tmp_path / "runs")).replace("/data/datasets/tiny", str(data))
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_ai_toolkit_fresh_run_reads_like_the_capture(aitk_job: Path) -> None:
    out, err, code = run_double([str(AITK / "run.py"), "config.yaml"], aitk_job)
    assert code == 0, err
    mine, real = parse_streams("ai-toolkit", [out, err]), captured("ai-toolkit/fresh-run.stdout",
                                                                  "ai-toolkit/fresh-run.stderr")
    assert signature(mine) == signature(real)
    assert summarize(mine, exit_code=code).status == summarize(real, exit_code=0).status == "completed"
    names = sorted(p.name for p in (aitk_job / "runs" / "tiny_flux_lora").glob("*.safetensors"))
    assert names == ["tiny_flux_lora.safetensors", "tiny_flux_lora_000000002.safetensors",
                     "tiny_flux_lora_000000004.safetensors"]


def test_ai_toolkit_resume_reads_like_the_capture(aitk_job: Path) -> None:
    run_double([str(AITK / "run.py"), "config.yaml"], aitk_job)
    config = aitk_job / "config.yaml"
    config.write_text(config.read_text().replace("steps: 5", "steps: 7"), encoding="utf-8")
    out, err, code = run_double([str(AITK / "run.py"), "config.yaml"], aitk_job)
    mine, real = parse_streams("ai-toolkit", [out, err]), captured("ai-toolkit/resume.stdout",
                                                                  "ai-toolkit/resume.stderr")
    assert signature(mine) == signature(real)
    assert ("resume", 5) in signature(mine)


def test_ai_toolkit_missing_dataset_reads_like_the_capture(aitk_job: Path) -> None:
    config = aitk_job / "config.yaml"
    config.write_text(config.read_text().replace(str(aitk_job / "tiny"), "/data/datasets/does-not-exist"))
    out, err, code = run_double([str(AITK / "run.py"), "config.yaml"], aitk_job)
    real = captured("ai-toolkit/missing-dataset.stdout", "ai-toolkit/missing-dataset.stderr")
    mine = parse_streams("ai-toolkit", [out, err])
    assert code == 1 and signature(mine) == signature(real)
    assert summarize(mine, exit_code=code).diagnosis == summarize(real, exit_code=1).diagnosis


def test_sd_scripts_run_reads_like_the_capture(tmp_path: Path) -> None:
    """command.sh's job: 4 images × 2 repeats, 8 steps, saves and samples every 10 steps, --save_state."""
    data = make_images(tmp_path / "mylora", 4, size=128, trigger="ohwx person")
    (tmp_path / "dataset.toml").write_text(
        f'[[datasets]]\nresolution = 128\nbatch_size = 1\n[[datasets.subsets]]\nimage_dir = "{data}"\n'
        'num_repeats = 2\n', encoding="utf-8")
    (tmp_path / "prompts.txt").write_text((LOGS / "sd-scripts" / "sample_prompts.txt").read_text())
    (tmp_path / "args.toml").write_text(
        '[all]\npretrained_model_name_or_path = "/m/flux.safetensors"\nclip_l = "/m/clip_l.safetensors"\n'
        't5xxl = "/m/t5xxl.safetensors"\nae = "/m/ae.safetensors"\ndataset_config = "dataset.toml"\n'
        'network_dim = 4\nnetwork_alpha = 1\noutput_dir = "out"\noutput_name = "mylora"\nmax_train_steps = 8\n'
        'save_every_n_steps = 10\nsave_state = true\nsave_last_n_steps = 10\nsample_prompts = "prompts.txt"\n'
        'sample_every_n_steps = 10\n', encoding="utf-8")
    out, err, code = run_double([str(SD / "flux_train_network.py"), "--config_file", "args.toml"], tmp_path)
    assert code == 0, err
    mine = parse_streams("sd-scripts", [out, err])
    real = captured("sd-scripts/success-cols200.log")
    assert signature(mine) == signature(real)
    assert (tmp_path / "out" / "mylora.safetensors").is_file()
    assert (tmp_path / "out" / "mylora-state" / "train_state.json").read_text() == \
        '{"current_epoch": 1, "current_step": 8}'
