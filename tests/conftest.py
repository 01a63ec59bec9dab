"""Shared fixtures: isolated HOME/HF cache, and small generated datasets (no downloads)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from helpers import make_images

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# The property tests draw the same examples on every run, so a CI run cannot fail on a draw no earlier run made;
# widening what they cover is done by raising max_examples or adding explicit examples, in a change of its own.
settings.register_profile("fluxgen", derandomize=True, print_blob=True)
settings.load_profile("fluxgen")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config, presets or hub cache, or reaches the network."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))  # where `fluxgen setup` environments live
    monkeypatch.delenv("FLUXGEN_HOME", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("FLUXGEN_PRESETS", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    for var in ("FLUXGEN_AI_TOOLKIT_DIR", "FLUXGEN_AI_TOOLKIT_PYTHON", "FLUXGEN_SD_SCRIPTS_DIR", "FLUXGEN_SD_SCRIPTS_PYTHON"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(REPO)


@pytest.fixture(scope="session")
def skull20(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 captioned 1024 px images with the CSKULL trigger: the cyber-skull guide's dataset size."""
    return make_images(tmp_path_factory.mktemp("skull20") / "images", 20)


@pytest.fixture(scope="session")
def style12(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_images(tmp_path_factory.mktemp("style12") / "art", 12, trigger="GXSTYLE", caption="a building")


os.environ.setdefault("HF_HUB_OFFLINE", "1")

SLOW_TIMEOUT = 600  # seconds: a slow test trains or installs something; a hang still fails within ten minutes


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests get a longer per-test limit than the default in pyproject.toml, unless they set their own."""
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))
