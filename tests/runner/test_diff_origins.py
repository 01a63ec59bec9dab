"""diff says two runs are the same when only where their values came from differs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from runner.support import train_args

from helpers import cli_run


@pytest.mark.parametrize("same_value", [("--rank", "32"), ("--set", "network.alpha=32"), ("--set", "train.lr=1.0e-4")])
def test_origin_only_differences_are_not_rendered_file_differences(fake_env, images: Path, model_dir: Path,
                                                                  tmp_path: Path, same_value: tuple[str, str]) -> None:
    runs = []
    for extra in ((), same_value):
        before = set((tmp_path / "runs").iterdir()) if (tmp_path / "runs").exists() else set()
        assert cli_run(*train_args(images, model_dir, *extra)).exit_code == 0
        runs += list(set((tmp_path / "runs").iterdir()) - before)
        time.sleep(1.01)
    data = json.loads(cli_run("diff", str(runs[0]), str(runs[1]), "--json").stdout)
    assert data["values"] == []
    assert "plan.json" not in data["files"] and "intent.yaml" not in data["files"], data["files"]
