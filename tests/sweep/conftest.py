"""Sweep fixtures: one tiny FLUX.1 and one 64 px dataset per session, the plan options of a lean point, and the
real single-node SLURM that `.ci/slurm-up` starts."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from pathlib import Path

import pytest
from runner.support import QUIET_CHILD, stop_started

from helpers import make_images

REPO = Path(__file__).resolve().parents[2]
SLURM_DIR = Path(os.environ.get("FLUXGEN_SLURM_DIR", "/tmp/fluxgen-slurm"))


def lean(model: Path, steps: int = 8) -> list[str]:
    """A point that trains in seconds on a shared CPU: 64 px, a save every 2 steps, one 1-step sample at the end."""
    return ["--backend", "builtin", "--set", f"model.base={model}", "--steps", str(steps), "--set", "save.every=2",
            "--set", f"samples.every={steps}", "--set", "train.resolution=64", "--set", "samples.size=64",
            "--set", "samples.steps=1", "--set", 'samples.prompts=["a skull"]', "--set", "train.optimizer=adamw",
            "--no-report"]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fluxgen.tiny import build_tiny_flux

    return build_tiny_flux(tmp_path_factory.mktemp("models") / "tiny-flux", seed=0)


@pytest.fixture(scope="session")
def images64(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_images(tmp_path_factory.mktemp("data") / "skull", 3, size=64)


@pytest.fixture
def quiet(monkeypatch: pytest.MonkeyPatch):
    """One torch thread in every child: several points share two cores."""
    for key, value in QUIET_CHILD.items():
        monkeypatch.setenv(key, value)
    yield
    stop_started()


def sweep_json(sweep_dir: Path) -> dict:
    return json.loads((sweep_dir / "sweep.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def slurm() -> dict[str, str]:
    """The local SLURM (started by `.ci/slurm-up` when it is not up); stopped again only if this test started it."""
    SLURM_DIR.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{SLURM_DIR}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        was_up = (SLURM_DIR / "slurmctld.pid").is_file()
        up = subprocess.run([str(REPO / ".ci" / "slurm-up")], capture_output=True, text=True, timeout=300)
    if up.returncode != 0:
        pytest.skip(f"no SLURM here: .ci/slurm-up failed ({(up.stderr.strip().splitlines() or ['?'])[-1]})")
    env = {"SLURM_CONF": str(SLURM_DIR / "slurm.conf")}
    yield env
    if not was_up:
        subprocess.run([str(REPO / ".ci" / "slurm-up"), "stop"], capture_output=True, timeout=60)
