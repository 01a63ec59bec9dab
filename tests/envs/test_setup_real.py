"""`fluxgen setup` for real: sd-scripts and ai-toolkit from the shared source tarballs into fluxgen's default data
dir (no FLUXGEN_* variable), then the tiny model trained a few steps by the real ai-toolkit through `fluxgen train`.

The environments take minutes and gigabytes, so they live in a stable cache folder (XDG_DATA_HOME under
~/.cache/fluxgen-tests) and are reused while `fluxgen setup --check` finds them matching their lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import SHARED, TEST_CACHE, make_images

TRAINERS = SHARED / "trainers"
FLUXGEN = str(Path(sys.executable).parent / "fluxgen")
SOURCES = {
    "sd-scripts": ["--source", str(TRAINERS / "sd-scripts-48d368fa.tar.gz")],
    "ai-toolkit": ["--source", str(TRAINERS / "ai-toolkit-27a03a91.tar.gz"),
                   "--with", f"diffusers={TRAINERS / 'diffusers-c9438378.tar.gz'}"],
}
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not TRAINERS.is_dir(), reason=f"no trainer sources at {TRAINERS}")]


def _env(tmp_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUXGEN_")}
    env.update(XDG_DATA_HOME=str(TEST_CACHE / "xdg-data"), HOME=str(tmp_home), HF_HUB_OFFLINE="1",
               OMP_NUM_THREADS="1", COLUMNS="120")
    return env


def _fluxgen(*args: str, env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLUXGEN, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False, stdin=subprocess.DEVNULL)


def _set_up(backend: str, env: dict[str, str], cwd: Path) -> dict:
    """`fluxgen setup` (reusing the cached environment when it still matches its lock), then `--check`."""
    done = _fluxgen("setup", backend, *SOURCES[backend], env=env, cwd=cwd, timeout=1500)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    check = _fluxgen("setup", backend, "--check", env=env, cwd=cwd, timeout=300)
    if check.returncode != 0:  # the cached one drifted: build it again
        done = _fluxgen("setup", backend, *SOURCES[backend], "--force", env=env, cwd=cwd, timeout=1500)
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        check = _fluxgen("setup", backend, "--check", env=env, cwd=cwd, timeout=300)
    assert check.returncode == 0 and "matches its lock" in check.stdout, check.stdout + check.stderr
    root = TEST_CACHE / "xdg-data" / "fluxgen" / "envs"
    lock = json.loads(next(root.glob(f"{backend}-*/env.lock.json")).read_text())
    assert lock["trainer"]["source"] == "tarball" and lock["removed_without_gpu"] in ([], ["triton"])
    return lock


@pytest.mark.timeout(1800)
def test_sd_scripts_setup(tmp_path: Path) -> None:
    lock = _set_up("sd-scripts", _env(tmp_path), tmp_path)
    pk = lock["packages"]
    assert (pk["transformers"], pk["diffusers"], pk["accelerate"], pk["voluptuous"]) == ("4.54.1", "0.32.1",
                                                                                        "1.6.0", "0.15.2")
    assert pk["torch"].startswith("2.13.0")


@pytest.mark.timeout(2400)
def test_ai_toolkit_setup_then_train_the_tiny_model(tmp_path: Path) -> None:
    env = _env(tmp_path)
    lock = _set_up("ai-toolkit", env, tmp_path)
    pk = lock["packages"]
    assert (pk["torch"], pk["torchvision"], pk["transformers"], pk["accelerate"]) == ("2.14.1", "0.29.1", "5.5.3",
                                                                                     "1.15.0")
    assert "triton" not in pk and lock["trainer"]["commit"].startswith("27a03a91")

    assert _fluxgen("model", "tiny", "tiny", env=env, cwd=tmp_path, timeout=300).returncode == 0
    images = make_images(tmp_path / "skull", 2, size=64)
    train = _fluxgen("train", "cyber-skull", "--images", str(images), "--backend", "ai-toolkit", "--vram", "80",
                     "--steps", "2", "--set", f"model.base={tmp_path / 'tiny'}", "--set", "train.resolution=64",
                     "--set", "train.precision=fp32", "--set", "train.optimizer=adamw", "--set", "save.every=2",
                     "--set", "samples.every=0", "--set", "train.workers=0", "--no-report",
                     env=env, cwd=tmp_path, timeout=1200)
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    run = next((tmp_path / "runs").iterdir())
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["final_lora"]
    assert manifest["trainer"]["python_source"].startswith("fluxgen setup")
    assert manifest["env_lock"]["hash"] == lock["hash"]
    assert json.loads((run / "env.lock.json").read_text())["hash"] == lock["hash"]
    same = _fluxgen("reproduce", str(run), "--dry-run", "--json", env=env, cwd=tmp_path, timeout=300)
    assert not any(n.startswith("environment") for n in json.loads(same.stdout)["differences"]), same.stdout


@pytest.mark.timeout(1200)
def test_ai_toolkit_trains_several_folders(tmp_path: Path) -> None:
    """Two folders (one with repeats 2 and its own caption extension), a reg folder and two resolutions, as one
    dataset entry per folder: the real ai-toolkit loads one dataset per folder and resolution and completes."""
    env = _env(tmp_path)
    _set_up("ai-toolkit", env, tmp_path)
    assert _fluxgen("model", "tiny", "tiny", env=env, cwd=tmp_path, timeout=300).returncode == 0
    make_images(tmp_path / "closeups", 2, size=64)
    make_images(tmp_path / "fullbody", 2, size=96)
    for caption in (tmp_path / "fullbody").glob("*.txt"):
        caption.rename(caption.with_suffix(".caption"))
    make_images(tmp_path / "reg", 2, size=64, trigger=None, caption="a skull")
    (tmp_path / "two.yaml").write_text("extends: cyber-skull\ndatasets:\n  - path: closeups\n    repeats: 2\n"
                                       "  - path: fullbody\n    caption_ext: .caption\n  - path: reg\n"
                                       "    is_reg: true\n    resolution: [64]\n", encoding="utf-8")
    train = _fluxgen("train", "two.yaml", "--backend", "ai-toolkit", "--vram", "80", "--steps", "2",
                     "--set", f"model.base={tmp_path / 'tiny'}", "--set", "train.resolution=[64, 128]",
                     "--set", "train.precision=fp32", "--set", "train.optimizer=adamw", "--set", "save.every=2",
                     "--set", "samples.every=0", "--set", "train.workers=0", "--no-report",
                     env=env, cwd=tmp_path, timeout=900)
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    run = next((tmp_path / "runs").iterdir())
    assert json.loads((run / "manifest.json").read_text())["status"] == "completed"
    log = (run / "train.log").read_text(encoding="utf-8", errors="replace")
    loaded = [line.split("Dataset: ", 1)[1].strip() for line in log.splitlines() if line.startswith("Dataset: ")]
    assert sorted(loaded) == sorted([str(tmp_path / "closeups")] * 2 + [str(tmp_path / "fullbody")] * 2
                                    + [str(tmp_path / "reg")])
    assert "Found 4 images" in log  # 2 close-ups × 2 repeats
