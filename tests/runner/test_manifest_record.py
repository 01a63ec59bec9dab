"""The run manifest as a typed record: manifests written by fluxgen read back and write back unchanged, the
session's changes go through the record's methods, one writer under the run's lock, and damage is one line.

`manifests/failed.json` and `resumed.json` were written by fluxgen before the record was a type (a disk-full
attempt, then a resume; paths replaced by /home/ana); `older.json` is that first one in the shape fluxgen wrote
before environment locks and output hashes (no env_lock, final_lora_sha256, checkpoint sha256, plan_hash, t0)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fluxgen.errors import UserError
from fluxgen.events import Diagnosis, Summary
from fluxgen.runner import Ended
from fluxgen.runs.manifest import RunManifest, parse_manifest, read_manifest, save_manifest
from fluxgen.runs.session import run_lock
from helpers import cli_run

MANIFESTS = Path(__file__).parent / "manifests"


def _text(name: str) -> str:
    return (MANIFESTS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["failed.json", "resumed.json", "older.json"])
def test_a_manifest_fluxgen_wrote_reads_and_writes_back_byte_for_byte(name: str) -> None:
    record = parse_manifest(json.loads(_text(name)), name)
    assert record.to_json() == _text(name)


def test_the_current_format_parses_into_the_type() -> None:
    m = parse_manifest(json.loads(_text("resumed.json")), "resumed.json")
    assert (m.name, m.backend, m.status, m.steps, m.last_step, m.total) == ("cyber-skull", "ai-toolkit",
                                                                            "completed", 5, 5, 5)
    assert m.diagnosis is None and m.pid is None and m.final_lora == "output/cyber-skull/cyber-skull.safetensors"
    first, second = m.attempts
    assert (first.status, first.diagnosis["code"], first.exit_code, first.last_step) == ("failed", "disk_full", 1, 4)
    assert (second.what, second.resume["step"], second.resumed_from, second.status) == (
        "resume from step 2", 2, 2, "completed")
    assert m.checkpoints[0]["sha256"].startswith("sha256:") and m.dataset["images"] == 4


def test_an_older_manifest_reads_with_the_missing_keys_absent() -> None:
    m = parse_manifest(json.loads(_text("older.json")), "older.json")
    assert m.env_lock is None and m.final_lora_sha256 is None and m.t0 is None and m.plan_hash is None
    assert "env_lock" not in json.loads(m.to_json()) and m.status == "failed"


def _ended(exit_code: int, **kw) -> Ended:
    return Ended(exit_code=exit_code, pid=4242, started=100.0, ended=160.25, **kw)


def test_a_record_built_through_its_methods_round_trips() -> None:
    m = RunManifest(name="skull", backend="sd-scripts", status="running", steps=8, started="2026-12-06T10:00:00+00:00",
                    attempts=[], warnings=[], checkpoints=[], samples=[], pid=1, t0=1.5)
    attempt = m.begin_attempt("train", ["python", "train.py"], "abc123")
    m.trainer_started(4242)
    assert m.to_json().count('"pid": 4242') == 1 and (attempt.pid, attempt.pgid) == (4242, 4242)
    summary = Summary("failed", last_step=6, total=8, last_loss=0.25,
                      diagnosis=Diagnosis("out_of_memory", "The GPU ran out of memory.", "Lower the rank."))
    outputs = {"checkpoints": [{"step": 4, "path": "output/a.safetensors", "sha256": "sha256:00"}],
               "final_lora": None, "final_lora_sha256": None, "samples": []}
    warning = {"attempt": 1, "code": "slowdown", "step": 5, "message": "slower"}
    m.end_attempt(summary, _ended(1), outputs, [warning], planned_steps=8)
    written = json.loads(m.to_json())
    assert "pid" not in written and written["status"] == "failed" and written["last_loss"] == 0.25
    assert written["attempts"][0]["seconds"] == 60.25 and written["attempts"][0]["diagnosis"]["code"] == "out_of_memory"
    again = parse_manifest(written, "manifest.json")
    assert again == m and again.to_json() == m.to_json()


def test_a_resume_then_fluxgen_failing_keeps_the_history() -> None:
    m = parse_manifest(json.loads(_text("failed.json")), "failed.json")
    m.begin_attempt("resume from step 2", ["python", "run.py"], None, {"step": 2, "path": "output/x"})
    assert m.status == "running" and isinstance(m.pid, int) and m.diagnosis is None
    m.abandon({"code": "crash", "message": "fluxgen stopped following the run (KeyError).", "fix": "resume"})
    written = json.loads(m.to_json())
    assert "pid" not in written and written["status"] == "failed" and len(written["attempts"]) == 2
    assert list(written["attempts"][1]) == ["attempt", "what", "started", "argv", "trainer_commit", "resume", "ended",
                                            "status", "diagnosis"]
    assert written["attempts"][0] == json.loads(_text("failed.json"))["attempts"][0]


def test_the_manifest_is_written_only_under_the_runs_lock(tmp_path: Path) -> None:
    record = RunManifest(name="skull", status="failed")
    with pytest.raises(RuntimeError, match="only while the run's lock is held"):
        save_manifest(tmp_path, record)
    assert not (tmp_path / "manifest.json").exists()
    with run_lock(tmp_path):
        save_manifest(tmp_path, record)
    assert read_manifest(tmp_path) == record and json.loads((tmp_path / "manifest.json").read_text()) == {
        "name": "skull", "status": "failed"}


@pytest.mark.parametrize(("data", "problem"), [
    ({"status": "failed", "attempts": [{"attempt": 1, "pid": "12"}]}, "attempts[0].pid: expected int, found str"),
    ({"status": "failed", "last_loss": "low"}, "last_loss: expected int or float, found str"),
    ({"status": "failed", "checkpoints": [3]}, "checkpoints[0]: expected an object, found int"),
    ({"status": "failed", "steps": True}, "steps: expected int, found bool"),
])
def test_a_malformed_manifest_is_one_line_naming_file_key_and_fix(tmp_path: Path, data, problem: str) -> None:
    run = tmp_path / "runs" / "skull-20261206-120000"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    result = cli_run("status", str(run))
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (f"error: {run / 'manifest.json'}: {problem}; the run record is damaged (restore it from "
                             "a backup, or start again with `fluxgen reproduce` on the run's config file)\n")
    with pytest.raises(UserError, match=re.escape(problem)):
        read_manifest(run)
