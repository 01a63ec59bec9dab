"""A real local sweep on the tiny model: 4 points, one per "GPU" of CUDA_VISIBLE_DEVICES=7,9 (two at a time; the
tiny model trains on the CPU whatever the variable says), Ctrl-C stops every child cleanly, `sweep resume`
continues the interrupted points from their checkpoints and trains the rest; status and report show them all."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from runner.support import interrupt, manifest, start_cli, wait_for, wait_group_gone
from sweep.conftest import lean, sweep_json

from helpers import cli_run

GRID = ["--grid", "train.lr=1e-4,5e-5", "--grid", "network.rank=4,8"]


def runs_of(sweep_dir: Path) -> dict[str, Path]:
    return {p.name: next(d for d in p.iterdir() if d.is_dir()) for p in (sweep_dir / "runs").iterdir()
            if any(d.is_dir() for d in p.iterdir())}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_local_sweep_interrupt_resume_status_report(tmp_path: Path, tiny: Path, images64: Path, quiet: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7,9")
    sweep = tmp_path / "sw"
    # 40 steps: both running points are still training when the second one has saved its first checkpoint
    args = ["sweep", "cyber-skull", "--images", str(images64), *lean(tiny, steps=40), *GRID, "--out", str(sweep)]
    proc = start_cli(args, {}, tmp_path)
    for point in ("p1", "p2"):  # both running points have a checkpoint to resume from
        wait_for(sweep / "runs", f"{point}/*/train.log", "saved checkpoint step 2:", timeout=240)
    out, err = interrupt(proc, signal.SIGINT, timeout=120)
    assert proc.returncode == 130, err
    assert f"sweep stopped; `fluxgen sweep resume {sweep}` continues it" in err
    jobs = sweep_json(sweep)["jobs"]
    assert set(jobs) == {"p1", "p2"} and all(j["exit_code"] == 130 for j in jobs.values()), jobs
    assert sorted(j["device"] for j in jobs.values()) == ["7", "9"]
    runs = runs_of(sweep)
    for point in ("p1", "p2"):
        m = manifest(runs[point])
        assert m["status"] == "interrupted", m
        assert wait_group_gone(jobs[point]["pid"]) == [] and wait_group_gone(m["attempts"][0]["pid"]) == []
    assert not (sweep / "runs" / "p3").exists()  # never started

    status = cli_run("sweep", "status", str(sweep), "--json")
    assert [r["state"] for r in json.loads(status.stdout)] == ["interrupted", "interrupted", "pending", "pending"]

    resumed = cli_run("sweep", "resume", str(sweep))
    assert resumed.exit_code == 0, resumed.stderr
    assert "4/4 points completed" in resumed.stdout
    runs = runs_of(sweep)
    for point in ("p1", "p2"):
        attempts = manifest(runs[point])["attempts"]
        assert len(attempts) == 2 and attempts[1]["resumed_from"] >= 2, attempts
    for run in runs.values():
        m = manifest(run)
        assert (m["status"], m["last_step"], m["final_lora"]) == ("completed", 40, "output/cyber-skull.safetensors")
    devices = {p: json.loads((r / "command.json").read_text())["env"]["CUDA_VISIBLE_DEVICES"] for p, r in runs.items()}
    assert set(devices.values()) == {"7", "9"}  # each run saw only its own GPU
    ranks = {p: json.loads((r / "plan.json").read_text())["values"]["rank"] for p, r in runs.items()}
    assert ranks == {"p1": 4, "p2": 8, "p3": 4, "p4": 8}

    table = cli_run("sweep", "status", str(sweep))
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["point", "values", "state", "step", "loss", "diagnosis"]
    assert [line.split()[:5] for line in lines[1:]] == [
        ["p1", "train.lr=1e-4", "network.rank=4", "completed", "40/40"],
        ["p2", "train.lr=1e-4", "network.rank=8", "completed", "40/40"],
        ["p3", "train.lr=5e-5", "network.rank=4", "completed", "40/40"],
        ["p4", "train.lr=5e-5", "network.rank=8", "completed", "40/40"]]
    report = cli_run("sweep", "report", str(sweep))
    assert report.exit_code == 0, report.stderr
    html = (sweep / "sweep-report.html").read_text(encoding="utf-8")
    assert html.count("<polyline") == 4 and html.count("data:image/jpeg;base64,") == 4
    again = cli_run("sweep", "resume", str(sweep))
    assert again.exit_code == 0 and "0 to train" in again.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sweep_cancel_stops_a_local_sweep(tmp_path: Path, tiny: Path, images64: Path, quiet: None) -> None:
    sweep = tmp_path / "sw"
    args = ["sweep", "cyber-skull", "--images", str(images64), *lean(tiny, 400), "--grid", "train.lr=1e-4",
            "--out", str(sweep)]
    proc = start_cli(args, {}, tmp_path)
    wait_for(sweep / "runs", "*/*/train.log", "saved checkpoint step 2:", timeout=240)
    cancelled = cli_run("sweep", "cancel", str(sweep))
    assert cancelled.exit_code == 0 and "stopped: sweep command (pid" in cancelled.stdout
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    m = manifest(runs_of(sweep)["p1"])
    assert m["status"] == "interrupted" and 2 <= m["last_step"] < 400
    assert wait_group_gone(sweep_json(sweep)["jobs"]["p1"]["pid"]) == []
    assert wait_group_gone(m["attempts"][0]["pid"]) == []
    assert cli_run("sweep", "cancel", str(sweep)).stdout.strip() == "nothing was running"
