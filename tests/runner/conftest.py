"""Fixtures for the run side: small datasets, a stand-in model folder, and the trainer test doubles."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner.support import AITK, QUIET_CHILD, SD, require_captures, stop_started

from helpers import make_images


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four small captioned images: enough for the doubles, quick to fingerprint."""
    return make_images(tmp_path_factory.mktemp("data") / "skull", 4, size=128)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shaped like a diffusers FLUX.1 model, so plans point at it without the hub (the doubles never
    load it)."""
    from fluxgen.rules.model import DIFFUSERS_FILES

    root = tmp_path_factory.mktemp("model") / "flux"
    for rel in DIFFUSERS_FILES.values():  # the single component files sd-scripts plans point at
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    return root


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Both trainers resolved to their doubles, replaying quickly; runs go under tmp_path/runs. The doubles replay
    the real captures, so without them every test that trains is skipped with the shared reason."""
    logs = require_captures()
    values = {"FLUXGEN_AI_TOOLKIT_DIR": str(AITK), "FLUXGEN_SD_SCRIPTS_DIR": str(SD), "FAKE_SPEED": "200",
              "FAKE_LOGS": str(logs), **QUIET_CHILD}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FAKE_SCENARIO", raising=False)
    monkeypatch.chdir(tmp_path)
    return values


@pytest.fixture(autouse=True)
def _no_process_left() -> None:
    yield
    stop_started()
