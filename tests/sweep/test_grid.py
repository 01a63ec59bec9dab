"""Grid parsing, point planning and the sweep folder, without training: every mistake is one line and leaves
nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep.conftest import sweep_json

from fluxgen.errors import UserError
from fluxgen.runs.sweep.grid import expand, parse_grid, split_values
from fluxgen.runs.sweep.slurm import executor_parameters, time_minutes
from helpers import cli_run, make_images


def test_values_split_on_top_level_commas_only() -> None:
    assert split_values("1e-4,5e-5") == ["1e-4", "5e-5"]
    assert split_values("[512,768],[1024]") == ["[512,768]", "[1024]"]
    assert split_values('"a, b",c') == ['"a, b"', "c"]


def test_grid_expands_first_key_slowest() -> None:
    points = expand(parse_grid(["train.lr=1e-4,5e-5", "network.rank=4,8"]))
    assert [p.id for p in points] == ["p1", "p2", "p3", "p4"]
    assert [p.values for p in points][:2] == [{"train.lr": "1e-4", "network.rank": "4"},
                                              {"train.lr": "1e-4", "network.rank": "8"}]


@pytest.mark.parametrize("items, message", [
    (["train.lr"], "expected KEY=V1,V2"),
    (["train.lr=1e-4,,5e-5"], "an empty value"),
    (["train.lr=1e-4", "train.lr=5e-5"], "given twice"),
    ([], "at least one --grid"),
])
def test_bad_grid_options(items: list[str], message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_grid(items)


def test_slurm_time_and_options() -> None:
    assert [time_minutes(t) for t in ("30", "5:30", "4:00:00", "1-2", "1-2:30")] == [30, 6, 240, 1560, 1590]
    with pytest.raises(UserError, match="--slurm-time soon"):
        time_minutes("soon")
    params = executor_parameters({"partition": "gpu", "gres": "gpu:1", "cpus": 8, "mem": "64G", "time": "2:00:00",
                                  "account": "lab", "extra": ["qos=high", "exclude=node3"]}, 2, "fluxgen-x")
    assert params == {"name": "fluxgen-x", "slurm_array_parallelism": 2, "slurm_partition": "gpu",
                      "slurm_gres": "gpu:1", "slurm_mem": "64G", "slurm_account": "lab", "slurm_cpus_per_task": 8,
                      "timeout_min": 120,
                      "slurm_additional_parameters": {"requeue": True, "qos": "high", "exclude": "node3"}}
    with pytest.raises(UserError, match="--slurm-option qos: expected KEY=VALUE"):
        executor_parameters({"extra": ["qos"]}, None, "x")


def test_dry_run_types_values_by_the_schema_and_trains_identical_plans_once(tmp_path: Path) -> None:
    images = make_images(tmp_path / "img", 3, size=64)
    out = tmp_path / "sw"
    result = cli_run("sweep", "cyber-skull", "--images", str(images), "--backend", "builtin", "--grid",
                     "train.lr=1e-4,0.0001,5e-5", "--grid", "network.rank=4", "--out", str(out), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "3 points, 2 distinct plans" in result.stdout
    points = sweep_json(out)["points"]
    assert points[1]["same_as"] == "p1" and points[1]["plan_hash"] == points[0]["plan_hash"]
    assert points[2]["same_as"] is None and points[2]["plan_hash"] != points[0]["plan_hash"]
    assert not (out / "runs").exists()
    again = cli_run("sweep", "cyber-skull", "--images", str(images), "--grid", "train.lr=1e-4", "--out", str(out))
    assert again.exit_code == 1 and "already holds a sweep; `fluxgen sweep resume" in again.stderr


def test_a_value_the_schema_refuses_names_the_point_and_writes_nothing(tmp_path: Path) -> None:
    images = make_images(tmp_path / "img", 3, size=64)
    result = cli_run("sweep", "cyber-skull", "--images", str(images), "--grid", "network.rank=4,lots",
                     "--out", str(tmp_path / "sw"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --grid point p2 (network.rank=lots):"), result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "sw").exists()


def test_status_of_a_folder_that_is_not_a_sweep(tmp_path: Path) -> None:
    result = cli_run("sweep", "status", str(tmp_path))
    assert result.exit_code == 1 and "not a sweep folder (no sweep.json)" in result.stderr


def test_two_commands_cannot_drive_one_sweep(tmp_path: Path) -> None:
    from fluxgen.runs.sweep.state import sweep_lock

    (tmp_path / "sweep.json").write_text('{"points": []}', encoding="utf-8")
    with sweep_lock(tmp_path), pytest.raises(UserError, match="the sweep is in use by pid"):
        with sweep_lock(tmp_path):
            pass


def test_a_missing_executor_is_said_before_any_folder_is_made(tmp_path: Path, monkeypatch) -> None:
    images = make_images(tmp_path / "img", 3, size=64)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no sky, no sbatch
    for executor, message in (("skypilot", "no `sky` command; install SkyPilot in its own environment"),
                              ("slurm", "no sbatch on PATH; run the sweep on a SLURM login node")):
        result = cli_run("sweep", "cyber-skull", "--images", str(images), "--grid", "train.lr=1e-4",
                         "--executor", executor, "--out", str(tmp_path / executor))
        assert result.exit_code == 1 and message in result.stderr, result.stderr
        assert not (tmp_path / executor).exists()
