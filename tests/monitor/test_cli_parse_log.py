"""`fluxgen parse-log` on the real captures: JSON schema, several streams, human summary, errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from monitor.captures import ALL_CAPTURES

from fluxgen.cli import cli

EVENT_KEYS = {
    "type",
    "step",
    "total",
    "loss",
    "lr",
    "path",
    "message",
    "phase",
    "seconds_per_it",
    "line",
    "code",
    "final",
    "file",
}
STATUSES = {"completed", "failed", "interrupted", "running"}


def _run(*args: str):
    return CliRunner().invoke(cli, ["parse-log", *args])


@pytest.mark.parametrize(("backend", "name"), ALL_CAPTURES)
def test_json_for_every_capture(logs, backend, name):
    result = _run("--backend", backend, str(logs / backend / name), "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert set(data) == {"events", "summary"}
    for event in data["events"]:
        assert set(event) <= EVENT_KEYS and event["type"] in {
            "phase",
            "progress",
            "checkpoint",
            "sample",
            "resume",
            "warning",
            "error",
        }
    summary = data["summary"]
    assert summary["status"] in STATUSES
    assert {"last_step", "total", "checkpoints", "resumed_from", "diagnosis"} <= set(summary)
    for checkpoint in summary["checkpoints"]:
        assert set(checkpoint) == {"step", "path"}
    if summary["diagnosis"] is not None:
        assert set(summary["diagnosis"]) == {"code", "message", "fix"}


def test_two_streams_of_one_run(logs):
    files = [str(logs / "ai-toolkit" / f"resume.{s}") for s in ("stdout", "stderr")]
    data = json.loads(_run("-b", "ai-toolkit", *files, "--json").stdout)
    summary = data["summary"]
    assert (summary["status"], summary["resumed_from"], summary["last_step"], summary["total"]) == (
        "completed",
        5,
        7,
        7,
    )
    assert {e["file"] for e in data["events"]} == {"resume.stdout", "resume.stderr"}
    assert summary["diagnosis"] is None


def test_human_summary_compresses_progress(logs):
    result = _run("--backend", "kohya", str(logs / "sd-scripts" / "success-cols200.log"))
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("status: completed\nsteps: 8/8\nlast loss: 1.48\n")
    assert "  step      8  /data/run/out/mylora.safetensors" in out
    assert sum("progress" in line for line in out.splitlines()) == 1
    assert "progress  steps 1–8 of 8 (8 shown), loss 1.46 → 1.48" in out


def test_failure_is_reported_with_exit_zero(logs):
    result = _run("--backend", "sd-scripts", str(logs / "sd-scripts" / "bad-dataset-key.log"))
    assert result.exit_code == 0
    assert "status: failed" in result.stdout
    assert (
        "diagnosis (dataset_error): The dataset TOML was rejected: extra keys not allowed at "
        "`datasets[0].subsets[0].foo`." in result.stdout
    )


def test_nan_loss_is_null_in_json(tmp_path, logs):
    text = (logs / "sd-scripts" / "success-cols200.log").read_text(encoding="utf-8")
    log = tmp_path / "nan.log"
    log.write_text(text.replace("avr_loss=1.47]", "avr_loss=nan]"), encoding="utf-8")
    data = json.loads(_run("-b", "sd-scripts", str(log), "--json").stdout)
    assert data["summary"]["diagnosis"]["code"] == "nan_loss"
    assert any(e["type"] == "progress" and "loss" not in e for e in data["events"])


def test_unknown_backend_is_a_usage_error(logs):
    result = _run("--backend", "onetrainer", str(logs / "sd-scripts" / "bad-dataset-key.log"))
    assert result.exit_code == 2
    assert "'onetrainer' is not one of" in result.stderr
    assert result.stdout == ""


def test_unreadable_file_is_one_line(tmp_path):
    result = _run("--backend", "ai-toolkit", str(tmp_path / "missing.log"))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'missing.log'}: cannot read the log file (No such file or directory)"
    ]
    result = _run("--backend", "ai-toolkit", str(tmp_path))
    assert result.exit_code == 1 and "cannot read the log file (Is a directory)" in result.stderr


def test_no_file_is_a_usage_error():
    assert _run("--backend", "ai-toolkit").exit_code == 2


def test_builtin_backend_uses_its_own_parser(tmp_path):
    log = tmp_path / "train.log"
    log.write_text(
        "training: 2 steps\nstep 1/2 loss=0.5 lr=0.0001 s/it=1.0\nstep 2/2 loss=0.4 lr=0.0001 s/it=1.0\n"
        "done: /runs/x/lora.safetensors\n",
        encoding="utf-8",
    )
    data = json.loads(_run("-b", "builtin", str(log), "--json").stdout)
    assert [e["step"] for e in data["events"] if e["type"] == "progress"] == [1, 2]
    assert data["summary"]["status"] == "completed"
