"""A run record damaged by hand or by a crash: every command says which key is wrong in one line, `runs` lists the
run as damaged, and `resume` never rewrites it (the attempt history stays as it was)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import cli_run

DAMAGED = [
    [{"status": "failed"}],                                    # a JSON list
    "a string",
    {"status": "failed", "attempts": "1"},                     # wrong types inside
    {"status": "failed", "attempts": [1, 2]},
    {"status": "running", "host": "laptop", "pid": 1},
    {"status": 3, "name": "skull"},
    {"status": "failed", "last_step": "sixty", "steps": True},
    {"status": "failed", "diagnosis": ["oom"], "warnings": {"a": 1}},
]


def damaged_run(tmp_path: Path, data) -> tuple[Path, bytes]:
    run = tmp_path / "runs" / "skull-20261206-120000"
    run.mkdir(parents=True)
    raw = json.dumps(data).encode()
    (run / "manifest.json").write_bytes(raw)
    (run / "plan.json").write_text(json.dumps({"values": {"name": "skull"}, "origins": {}}))
    return run, raw


@pytest.mark.parametrize("data", DAMAGED)
def test_every_command_on_a_damaged_record_is_one_line(tmp_path: Path, data) -> None:
    run, raw = damaged_run(tmp_path, data)
    for args in (["status", str(run)], ["report", str(run)], ["resume", str(run)], ["diff", str(run), str(run)]):
        result = cli_run(*args)
        assert result.exit_code == 1, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "manifest.json" in result.stderr and "damaged" in result.stderr
    assert (run / "manifest.json").read_bytes() == raw  # resume did not rewrite it
    listed = cli_run("runs", "--runs", str(tmp_path / "runs"))
    assert listed.exit_code == 0 and "damaged" in listed.stdout, listed.stdout


@pytest.mark.parametrize("plan", ['["values"]', '{"values": 3, "origins": {}}', '{"values": {}, "origins": []}',
                                  '{"values": {}, "origins": {}, "warnings": [1]}'])
def test_a_damaged_plan_is_one_line_on_resume(tmp_path: Path, plan: str) -> None:
    run, raw = damaged_run(tmp_path, {"status": "failed", "attempts": []})
    (run / "plan.json").write_text(plan)
    result = cli_run("resume", str(run))
    assert result.exit_code == 1 and result.stderr.startswith("error: ") and "plan.json" in result.stderr
    assert (run / "manifest.json").read_bytes() == raw
