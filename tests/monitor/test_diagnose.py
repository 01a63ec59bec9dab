"""How a run ended, with and without its exit code and final file."""

from __future__ import annotations

import pytest
from monitor.captures import parse_whole

from fluxgen.events import Event
from fluxgen.monitor import parse_streams
from fluxgen.monitor.diagnose import summarize


@pytest.fixture(scope="module")
def completed(logs):
    from monitor.captures import read_capture

    return parse_streams(
        "ai-toolkit",
        [read_capture("ai-toolkit", "fresh-run.stdout"), read_capture("ai-toolkit", "fresh-run.stderr")],
    )


@pytest.fixture(scope="module")
def untrained(logs):
    """sd-scripts up to its dataset summary, as when it finds no images and returns with exit code 0."""
    from monitor.captures import read_capture

    text = read_capture("sd-scripts", "success-cols200.log")
    return parse_whole("sd-scripts", text[: text.index("                    INFO     [Dataset 0]")])


def test_success_needs_exit_zero_and_the_final_file(completed):
    assert summarize(completed, exit_code=0, final_lora_exists=True).status == "completed"
    summary = summarize(completed, exit_code=0, final_lora_exists=False)
    assert (summary.status, summary.diagnosis.code) == ("failed", "no_output")
    assert summarize(completed, exit_code=0).status == "completed"


@pytest.mark.parametrize("code", [130, 143, -2, -15])
def test_signals_are_interruptions(completed, code):
    summary = summarize(completed[:8], exit_code=code)
    assert (summary.status, summary.diagnosis.code) == ("interrupted", "interrupted")


def test_exit_zero_without_training_is_no_data(untrained):
    assert summarize(untrained).status == "running"  # from the text alone: it may still be starting
    summary = summarize(untrained, exit_code=0)
    assert (summary.status, summary.diagnosis.code) == ("failed", "no_data")
    assert summarize(untrained, exit_code=0, final_lora_exists=False).diagnosis.code == "no_data"


def test_non_zero_exit_without_a_message(completed):
    summary = summarize(completed[:8], exit_code=1)
    assert (summary.status, summary.diagnosis.code) == ("failed", "crash")
    assert "code 1" in summary.diagnosis.message
    killed = summarize(completed[:8], exit_code=-9)
    assert killed.diagnosis.code == "out_of_memory" and "RAM" in killed.diagnosis.message


def test_an_error_beats_exit_zero_and_the_text_alone():
    error = Event("error", message="RuntimeError: shapes do not match", code="crash")
    assert summarize([error], exit_code=0).status == "failed"
    summary = summarize([error])
    assert summary.diagnosis.message == "The trainer crashed: RuntimeError: shapes do not match"


def test_a_follower_warning_explains_a_running_run():
    stall = Event("warning", code="stall", message="No progress for 10:00 (training, at step 3/5).")
    summary = summarize([Event("progress", step=3, total=5), stall])
    assert (summary.status, summary.diagnosis.code) == ("running", "stall")
    assert "nvidia-smi" in summary.diagnosis.fix


def test_summary_fields_and_json_shape(completed):
    data = summarize(completed).to_dict()
    assert set(data) >= {"status", "last_step", "total", "checkpoints", "resumed_from", "diagnosis"}
    assert data["checkpoints"][-1] == {
        "step": 5,
        "path": "/data/runs/tiny_flux_lora/tiny_flux_lora.safetensors",
    }


def test_an_error_training_went_on_after_is_not_the_end(completed):
    warning_like = Event("error", message="RuntimeError: could not write the sample grid", code="crash")
    events = [*completed[:6], warning_like, *completed[6:]]
    assert summarize(events).status == "completed"
    assert summarize(events, exit_code=0, final_lora_exists=True).status == "completed"
    summary = summarize(events, exit_code=1)
    assert (summary.status, summary.diagnosis.code) == ("failed", "crash")
    assert "could not write the sample grid" in summary.diagnosis.message


@pytest.mark.parametrize("line", [
    "OSError: [Errno 28] No space left on device",
    "OSError: [Errno 122] Disk quota exceeded: '/runs/x/output/x_000000250.safetensors'",
    "safetensors_rust.SafetensorError: Error while serializing: IoError(Os { code: 28, kind: StorageFull, "
    "message: \"No space left on device\" })",
    "RuntimeError: [Errno 28] No space left on device: '/tmp/tmpabc'",
])
def test_a_full_disk_is_its_own_diagnosis(line):
    events = parse_streams("sd-scripts", ["Traceback (most recent call last):\n  File \"x.py\", line 1\n" + line + "\n"])
    diagnosis = summarize(events, exit_code=1).diagnosis
    assert diagnosis.code == "disk_full" and "ran out of space" in diagnosis.message
    assert "Free space" in diagnosis.fix
