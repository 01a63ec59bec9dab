"""The tiny FLUX.1 once per session for the LoRA, eval and publish tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from fluxgen.tiny import build_tiny_flux

    torch.set_num_threads(1)
    return build_tiny_flux(tmp_path_factory.mktemp("models") / "tiny-flux", seed=0)
