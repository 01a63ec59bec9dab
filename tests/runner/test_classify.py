"""The end of an attempt is classified, not assumed: exit code, final file, events and fluxgen's own stop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from fluxgen.backends._common import Outputs
from fluxgen.events import Event
from fluxgen.plan import Plan
from fluxgen.runner import Ended
from fluxgen.runs.attempt import classify

TRAINED = [Event("phase", phase="training"), Event("progress", step=1, total=2, loss=0.5),
           Event("progress", step=2, total=2, loss=0.4)]


def plan(backend: str = "ai-toolkit") -> Plan:
    return Plan({"name": "skull", "backend": backend, "steps": 2}, {})


def end(code: int, reason: str | None = None) -> Ended:
    return Ended(code, 123, reason)


def test_exit_0_and_the_final_file_is_success(tmp_path: Path) -> None:
    s = classify(plan(), TRAINED, end(0), Outputs(tmp_path / "skull.safetensors"), tmp_path)
    assert (s.status, s.diagnosis) == ("completed", None)


def test_exit_0_without_the_final_file_fails(tmp_path: Path) -> None:
    s = classify(plan(), TRAINED, end(0), Outputs(None), tmp_path)
    assert (s.status, s.diagnosis.code) == ("failed", "no_output")


def test_exit_0_without_a_single_step_is_no_data(tmp_path: Path) -> None:
    s = classify(plan("sd-scripts"), [Event("phase", phase="loading")], end(0), Outputs(None), tmp_path)
    assert (s.status, s.diagnosis.code) == ("failed", "no_data")


def test_non_zero_exit_without_a_message_is_a_crash(tmp_path: Path) -> None:
    s = classify(plan(), TRAINED[:2], end(3), Outputs(None), tmp_path)
    assert (s.status, s.diagnosis.code) == ("failed", "crash")
    assert "exited with code 3" in s.diagnosis.message


def test_a_stop_for_a_stall_is_a_failure_with_the_stall_diagnosis(tmp_path: Path) -> None:
    events = [*TRAINED[:2], Event("warning", code="stall", message="No progress for 10:00 (training, at step 1/2).")]
    s = classify(plan(), events, end(-2, "stall"), Outputs(None), tmp_path)
    assert (s.status, s.diagnosis.code) == ("failed", "stall")
    assert s.diagnosis.message.startswith("No progress for 10:00") and "nvidia-smi" in s.diagnosis.fix


def test_user_stop_names_the_last_whole_checkpoint(tmp_path: Path) -> None:
    root = tmp_path / "output" / "skull"
    root.mkdir(parents=True)
    save_file({"w": np.zeros(4, np.float32)}, str(root / "skull_000000001.safetensors"))
    (root / "skull_000000002.safetensors").write_bytes(b"\x10\x00")  # cut off while saving
    s = classify(plan(), TRAINED, end(0, "SIGINT"), Outputs(None, [(1, root / "skull_000000001.safetensors")]),
                 tmp_path)
    assert s.status == "interrupted"
    assert s.diagnosis.message == (
        "The run was stopped by SIGINT at step 2/2. The last checkpoint is output/skull/skull_000000001.safetensors "
        "(step 1). ai-toolkit writes no checkpoint when it is stopped: steps after 1 are lost and will be trained "
        "again.")
    assert s.diagnosis.fix == f"Continue it with `fluxgen resume {tmp_path}`."
    assert (root / "skull_000000002.safetensors").exists()  # only `resume` moves broken files aside


def test_user_stop_before_any_checkpoint(tmp_path: Path) -> None:
    s = classify(plan("sd-scripts"), TRAINED[:2], end(-15, "SIGTERM"), Outputs(None), tmp_path)
    assert s.status == "interrupted"
    assert "No checkpoint was saved, so a resume starts again from step 0." in s.diagnosis.message


def test_a_run_that_finished_despite_the_signal_stays_completed(tmp_path: Path) -> None:
    events = [*TRAINED, Event("checkpoint", step=2, path="skull.safetensors", final=True)]
    s = classify(plan(), events, end(0, "SIGINT"), Outputs(tmp_path / "skull.safetensors"), tmp_path)
    assert s.status == "completed"


def test_a_resume_of_a_nan_run_that_trains_nothing_is_not_completed(tmp_path: Path) -> None:
    events = [Event("resume", step=2), Event("checkpoint", step=2, path="skull.safetensors", final=True)]
    previous = {"code": "nan_loss", "message": "The loss became NaN/inf at step 1: training diverged.", "fix": ""}
    s = classify(plan(), events, end(0), Outputs(tmp_path / "skull.safetensors"), tmp_path, previous=previous,
                 resumed=True)
    assert (s.status, s.diagnosis.code) == ("failed", "nan_loss")
    assert s.diagnosis.message.startswith("The trainer continued at step 2 and trained no step")
    trained = classify(plan(), [*events[:1], *TRAINED], end(0), Outputs(tmp_path / "skull.safetensors"), tmp_path,
                       previous=previous, resumed=True)
    assert trained.status == "completed"
    other = classify(plan(), events, end(0), Outputs(tmp_path / "skull.safetensors"), tmp_path,
                     previous={"code": "crash"}, resumed=True)
    assert other.status == "completed"  # e.g. a crash after the final save: the final file is good
