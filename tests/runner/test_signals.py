"""Ctrl-C and SIGTERM to fluxgen (a real process): forwarded to the trainer's group, run marked interrupted,
the last checkpoint named, no process left behind; then `status` and `resume` on that run."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from runner.support import (
    AITK_ARGS,
    SD_ARGS,
    interrupt,
    manifest,
    only_run,
    start_cli,
    wait_for,
    wait_group_gone,
)

from helpers import cli_run


def start(images: Path, model: Path, tmp_path: Path, fake_env: dict, shape: tuple[str, ...], *extra: str,
          scenario: str = "stall", **env: str):
    args = ["train", "cyber-skull", "--images", str(images), "--set", f"model.base={model}", *shape, "--no-report",
            *extra]
    # the double goes quiet at step 3 (as a slow step would), so the signal lands mid-run every time
    env = {**fake_env, "FAKE_SCENARIO": scenario, "FAKE_STALL": "60", "FAKE_SPEED": "100", **env}
    return start_cli(args, env, tmp_path)


def test_ctrl_c_then_status_then_resume(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    proc = start(images, model_dir, tmp_path, fake_env, AITK_ARGS)
    wait_for(tmp_path / "runs", "*/train.log", "Saved checkpoint to")
    run = only_run(tmp_path / "runs")
    wait_for(run, "events.jsonl", '"step": 3')

    live = cli_run("status", run.name, "--runs", str(tmp_path / "runs"), "--json")
    state = json.loads(live.stdout)
    assert (state["status"], state["progress"]["step"], state["progress"]["total"]) == ("running", 3, 5)

    out, err = interrupt(proc, signal.SIGINT)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        "error: The run was stopped by SIGINT at step 3/5. The last checkpoint is "
        "output/cyber-skull/cyber-skull_000000002.safetensors (step 2). ai-toolkit writes no checkpoint when it "
        f"is stopped: steps after 2 are lost and will be trained again. Continue it with `fluxgen resume runs/{run.name}`.")
    m = manifest(run)
    assert (m["status"], m["attempts"][0]["stop_reason"], m["attempts"][0]["killed"]) == ("interrupted", "SIGINT",
                                                                                          False)
    assert wait_group_gone(m["attempts"][0]["pid"]) == []

    resumed = cli_run("resume", str(run), env={"FAKE_SCENARIO": "success"})
    assert resumed.exit_code == 0, resumed.stderr
    assert "resumed from step 2" in resumed.stdout
    m = manifest(run)
    assert (m["status"], len(m["attempts"])) == ("completed", 2)
    assert (m["attempts"][1]["resume"]["step"], m["attempts"][1]["resumed_from"]) == (2, 2)
    assert not any(w["code"] == "resume_mismatch" for w in m["warnings"])
    assert (run / m["final_lora"]).is_file()
    log = (run / "train.log").read_text()
    assert "==== fluxgen attempt 2: resume from step 2 (" in log and "Found step 2 in metadata" in log
    assert cli_run("resume", str(run)).stderr.strip().endswith("use `fluxgen reproduce " + str(run) + "` to train it "
                                                               "again")


def test_sigterm_stops_sd_scripts_and_its_whole_group(fake_env, images: Path, model_dir: Path,
                                                      tmp_path: Path) -> None:
    proc = start(images, model_dir, tmp_path, fake_env, SD_ARGS, scenario="stall", FAKE_AT_STEP="5")
    wait_for(tmp_path / "runs", "*/train.log", "saving checkpoint:")
    run = only_run(tmp_path / "runs")
    wait_for(run, "events.jsonl", '"step": 5')
    out, err = interrupt(proc, signal.SIGTERM)
    assert proc.returncode == 130, err
    assert "stopped by SIGTERM at step 5/8. The last checkpoint is output/cyber-skull-step00000004-state (step 4)" \
        in err
    m = manifest(run)
    assert m["status"] == "interrupted"
    assert wait_group_gone(m["attempts"][0]["pid"]) == []  # accelerate, the trainer and its worker

    resumed = cli_run("resume", run.name, "--runs", str(tmp_path / "runs"), env={"FAKE_SCENARIO": "success"})
    assert resumed.exit_code == 0, resumed.stderr
    m = manifest(run)
    assert m["attempts"][1]["argv"][-3:] == ["--resume", "output/cyber-skull-step00000004-state",
                                             "--skip_until_initial_step"]
    second = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    steps = [e["step"] for e in second if e["type"] == "progress" and e["attempt"] == 2]
    assert steps[0] == 5 and steps[-1] == 8  # the bar's remaining-steps count put back on the run's scale
    assert m["status"] == "completed"


def test_a_trainer_that_ignores_signals_is_killed_after_the_grace(fake_env, images: Path, model_dir: Path,
                                                                  tmp_path: Path) -> None:
    proc = start(images, model_dir, tmp_path, fake_env, AITK_ARGS, "--grace", "0.5", scenario="hang")
    wait_for(tmp_path / "runs", "*/train.log", "Saved checkpoint to")
    run = only_run(tmp_path / "runs")
    wait_for(run, "events.jsonl", '"step": 3')
    interrupt(proc, signal.SIGINT)
    assert proc.returncode == 130
    m = manifest(run)
    assert (m["status"], m["attempts"][0]["killed"], m["exit_code"]) == ("interrupted", True, -9)
    assert wait_group_gone(m["attempts"][0]["pid"]) == []


def test_a_closed_terminal_stops_the_run_like_sigterm(fake_env, images: Path, model_dir: Path,
                                                      tmp_path: Path) -> None:
    """Closing the terminal sends fluxgen SIGHUP (the trainer, in its own session, gets nothing): the trainer
    must not be left running and the run must not stay `running`."""
    proc = start(images, model_dir, tmp_path, fake_env, AITK_ARGS)
    wait_for(tmp_path / "runs", "*/train.log", "Saved checkpoint to")
    run = only_run(tmp_path / "runs")
    wait_for(run, "events.jsonl", '"step": 3')
    out, err = interrupt(proc, signal.SIGHUP)
    assert proc.returncode == 130, err
    m = manifest(run)
    assert (m["status"], m["attempts"][0]["stop_reason"]) == ("interrupted", "SIGHUP")
    assert m["diagnosis"]["message"].startswith("The run was stopped by SIGHUP at step 3/5.")
    assert m["exit_code"] == -15  # forwarded as SIGTERM, which ai-toolkit does not handle
    assert wait_group_gone(m["attempts"][0]["pid"]) == []
