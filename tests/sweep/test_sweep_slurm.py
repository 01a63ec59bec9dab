"""The acceptance run on a real single-node SLURM (`.ci/slurm-up`): 4 points as a submitit job array; one point
requeued mid-run (what node failure does), one sent SLURM's preemption signal (USR2: submitit requeues it), each
resuming from its checkpoint by itself; one killed
with scancel, the sweep ending with exit 1 and its table, `sweep resume` resubmitting only that point, which
continues from its last checkpoint."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from runner.support import manifest, start_cli, wait_for
from sweep.conftest import lean, sweep_json
from sweep.test_sweep_local import GRID, runs_of

from helpers import cli_run

STEPS = 60  # long enough that p1 is still training when it is cancelled on an idle machine


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_slurm_sweep_scancel_resume(tmp_path: Path, tiny: Path, images64: Path, quiet: None, slurm: dict[str, str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in slurm.items():
        monkeypatch.setenv(key, value)
    sweep = tmp_path / "sw"
    args = ["sweep", "cyber-skull", "--images", str(images64), *lean(tiny, STEPS), *GRID, "--executor", "slurm",
            "--max-parallel", "2", "--slurm-cpus", "1", "--slurm-time", "20", "--out", str(sweep)]
    proc = start_cli(args, slurm, tmp_path)
    wait_for(sweep / "runs", "p1/*/train.log", "saved checkpoint step 2:", timeout=400)
    wait_for(sweep / "runs", "p2/*/train.log", "saved checkpoint step 2:", timeout=60)
    subprocess.run(["scontrol", "requeue", sweep_json(sweep)["jobs"]["p2"]["job_id"]], check=True)
    job = sweep_json(sweep)["jobs"]["p1"]["job_id"]
    assert job.endswith("_0")
    submission = (sweep / "slurm" / job.split("_")[0] / f"{job.split('_')[0]}_submission.sh").read_text()
    assert "#SBATCH --array=0-3%2" in submission and "#SBATCH --requeue" in submission
    subprocess.run(["scancel", job], check=True)
    wait_for(sweep / "runs", "p3/*/train.log", "saved checkpoint step 2:", timeout=400)
    subprocess.run(["scancel", "--signal=USR2", sweep_json(sweep)["jobs"]["p3"]["job_id"]], check=True)

    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err
    assert "1 of 4 points did not complete (p1 interrupted)" in err
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("point "))
    rows = {line.split()[0]: line.split()[3] for line in lines[head + 1:head + 5]}
    assert rows == {"p1": "interrupted", "p2": "completed", "p3": "completed", "p4": "completed"}
    first = manifest(runs_of(sweep)["p1"])
    assert first["last_step"] < STEPS and first["checkpoints"]
    requeued = manifest(runs_of(sweep)["p2"])["attempts"]
    assert [a["status"] for a in requeued] == ["interrupted", "completed"] and requeued[1]["resumed_from"] >= 2
    preempted = manifest(runs_of(sweep)["p3"])["attempts"]
    assert len(preempted) == 2 and preempted[1]["status"] == "completed" and preempted[1]["resumed_from"] >= 2

    resumed = cli_run("sweep", "resume", str(sweep))
    assert resumed.exit_code == 0, resumed.stderr
    assert "1 to train on slurm" in resumed.stderr and "submitted 1 points" in resumed.stderr
    m = manifest(runs_of(sweep)["p1"])
    assert len(m["attempts"]) == 2 and m["attempts"][1]["resumed_from"] >= 2, m["attempts"]
    assert (m["status"], m["last_step"], m["final_lora"]) == ("completed", STEPS, "output/cyber-skull.safetensors")

    status = json.loads(cli_run("sweep", "status", str(sweep), "--json").stdout)
    assert [(r["point"], r["state"], r["step"]) for r in status] == [(f"p{i}", "completed", STEPS) for i in range(1, 5)]
    jobs = sweep_json(sweep)["jobs"]
    assert jobs["p1"]["job_id"] != job and all(j["executor"] == "slurm" for j in jobs.values())
    assert cli_run("sweep", "report", str(sweep)).exit_code == 0
    assert (sweep / "sweep-report.html").read_text(encoding="utf-8").count("<polyline") == 4
