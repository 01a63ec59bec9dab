"""The live record: train.log keeps both streams' lines whole, events.jsonl is valid JSON, secrets never land."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from fluxgen.events import Event
from fluxgen.runner import make_redactor
from fluxgen.runs.attempt import LineParser, Renumber
from fluxgen.runs.record import Recorder, read_events


def test_streams_interleave_only_at_line_boundaries(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, 1, what="train", redact=lambda t: t)
    rec.output("stderr", "\rjob:  20%|██| 1/5 [00:01<00:04]")
    rec.output("stdout", "Saving at step 2\nSaved checkpoint to /x/job_0002.safe")
    rec.output("stderr", "\rjob:  40%|████| 2/5 [00:02<00:03]\r")
    rec.output("stdout", "tensors\n")
    rec.close()
    text = (tmp_path / "train.log").read_bytes().decode("utf-8")
    body = text.split("====\n", 1)[1]
    assert body == ("\rSaving at step 2\njob:  20%|██| 1/5 [00:01<00:04]\rjob:  40%|████| 2/5 [00:02<00:03]\r"
                    "Saved checkpoint to /x/job_0002.safetensors\n")
    assert text.startswith("==== fluxgen attempt 1: train (")


def test_secrets_redacted_in_log_and_events(tmp_path: Path) -> None:
    redact = make_redactor({"HF_TOKEN": "hf_TOPSECRETvalue"})
    rec = Recorder(tmp_path, 2, what="resume", redact=redact)
    rec.output("stderr", "401 Client Error for token hf_TOPSECRETvalue\n")
    rec.event(Event("error", message="Invalid credentials hf_TOPSECRETvalue", code="gated_model"), "stderr")
    rec.close()
    for name in ("train.log", "events.jsonl"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "hf_TOPSECRETvalue" not in text and "***" in text


def test_events_and_metrics_as_the_run_goes(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, 1, what="train", redact=lambda t: t)
    rec.event(Event("progress", step=1, total=5, lr=1e-4, seconds_per_it=0.5), "stderr")
    rec.event(Event("progress", step=1, total=5, loss=1.5, lr=1e-4), "stderr")  # the same step's loss arriving
    rec.event(Event("progress", step=2, total=5, loss=float("nan"), lr=1e-4), "stderr")
    # written before close: a reader sees a live run
    rows = read_events(tmp_path)
    assert [r["step"] for r in rows] == [1, 1, 2] and rows[2]["loss"] is None and rows[0]["attempt"] == 1
    rec.close()
    with (tmp_path / "metrics.csv").open(encoding="utf-8", newline="") as fh:
        metrics = list(csv.DictReader(fh))
    assert [(m["step"], m["loss"], m["seconds_per_it"]) for m in metrics] == [("1", "1.5", "0.5"), ("2", "", "")]
    assert all(json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines())


def test_appended_attempts_keep_one_metrics_header(tmp_path: Path) -> None:
    for attempt in (1, 2):
        rec = Recorder(tmp_path, attempt, what="x", redact=lambda t: t)
        rec.event(Event("progress", step=attempt, loss=1.0))
        rec.close()
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines[0] == "step,loss,lr,seconds_per_it,time" and len(lines) == 3
    assert (tmp_path / "train.log").read_text().count("==== fluxgen attempt") == 2


def test_line_parser_matches_one_pass_on_the_builtin_console() -> None:
    from fluxgen.backends.builtin.console import parse

    text = ("loading model: /m\ntraining: 4 steps\nstep 1/4 loss=0.5 lr=1.000e-04 s/it=0.100\n"
            "saved checkpoint step 1: /o/a_000000001.safetensors\nstep 2/4 loss=0.4 lr=1.000e-04 s/it=0.100\n"
            "Traceback (most recent call last):\n  File \"x.py\", line 1\nRuntimeError: CUDA out of memory\n"
            "done: /o/a.safetensors\n")
    whole = [e.to_dict() for e in parse(text.splitlines(keepends=True))]
    parser, live = LineParser(parse), []
    for i in range(0, len(text), 7):
        live += parser.feed(text[i:i + 7])
    live += parser.close()
    assert [e.to_dict() for e in live] == whole
    assert any(e["type"] == "error" and e["code"] == "out_of_memory" for e in whole)


def test_renumber_puts_a_skipped_resume_back_on_the_run_scale() -> None:
    renumber = Renumber(12)
    assert renumber(Event("progress", step=3, total=12)).step == 3
    renumber(Event("resume", step=8))
    moved = renumber(Event("progress", step=1, total=4))
    assert (moved.step, moved.total) == (9, 12)
    assert renumber(Event("progress", step=10, total=12)).step == 10  # already absolute: left alone
