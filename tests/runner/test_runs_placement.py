"""--runs inside the dataset folder is refused: the run's files would join the dataset's fingerprint and lint."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner.support import train_args

from helpers import cli_run


@pytest.mark.parametrize("sub", ["", "runs", "deep/er/runs"])
def test_runs_inside_the_dataset_is_refused(fake_env, images: Path, model_dir: Path, sub: str) -> None:
    runs = images / sub if sub else images
    before = sorted(p.name for p in images.iterdir())
    result = cli_run(*train_args(images, model_dir, "--runs", str(runs)))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "--runs is inside the dataset folder" in result.stderr.splitlines()[-1]
    assert sorted(p.name for p in images.iterdir()) == before
