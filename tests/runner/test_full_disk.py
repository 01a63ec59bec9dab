"""A disk that fills up under a run: records end on whole lines, the run's end is still recorded, and a runs
folder that cannot be written is one line, not a traceback."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from runner.support import manifest, only_run, train_args

from fluxgen.runs import record
from helpers import cli_run


def test_a_record_line_that_does_not_fit_is_cut_back_off(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "events.jsonl"
    fh = record.AppendFile(path)
    fh.write('{"step": 1}\n')
    real_write, calls = os.write, []

    def half_then_full(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(record.os, "write", half_then_full)
    fh.write('{"step": 2, "message": "a long record that the disk cannot hold"}\n')
    fh.write('{"step": 3}\n')
    monkeypatch.undo()
    fh.close()
    assert path.read_text() == '{"step": 1}\n' and fh.error.errno == errno.ENOSPC


@pytest.mark.parametrize("name", [record.EVENTS_NAME, record.LOG_NAME, record.METRICS_NAME])
def test_a_run_whose_record_fills_the_disk_still_ends_recorded(fake_env, images: Path, model_dir: Path,
                                                               tmp_path: Path, monkeypatch, name: str) -> None:
    real_init = record.AppendFile.__init__

    def on_a_full_disk(self, path):
        real_init(self, Path("/dev/full") if path.name == name else path)  # every write: ENOSPC
        self.path = path

    monkeypatch.setattr(record.AppendFile, "__init__", on_a_full_disk)
    result = cli_run(*train_args(images, model_dir))
    assert "Traceback" not in result.stderr
    m = manifest(only_run(tmp_path / "runs"))
    assert m["status"] != "running" and "pid" not in m
    warning = next(w for w in m["warnings"] if w["code"] == "record_incomplete")
    assert f"{name} stopped being written (No space left on device)" in warning["message"]
    assert not (only_run(tmp_path / "runs") / ".fluxgen-reserve").exists()
    events = only_run(tmp_path / "runs") / record.EVENTS_NAME
    for line in (events.read_text().splitlines() if events.exists() else []):
        json.loads(line)


@pytest.mark.parametrize("runs", ["a-file/runs", "/proc/fluxgen-runs", "/sys/fluxgen-runs"])
def test_a_runs_folder_that_cannot_be_written_is_one_line(fake_env, images: Path, model_dir: Path,
                                                          tmp_path: Path, runs: str) -> None:
    (tmp_path / "a-file").write_text("x")
    result = cli_run(*train_args(images, model_dir, "--runs", runs if runs.startswith("/") else str(tmp_path / runs)))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert len(errors) == 1 and errors[0].startswith("error: ") and "cannot create a run folder here" in errors[0]
