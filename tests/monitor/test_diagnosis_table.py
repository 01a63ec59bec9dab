"""The diagnosis table: a row is all a new diagnosis needs, the order is the priority, backends override in place."""

from __future__ import annotations

import pytest

from fluxgen.backends import BACKENDS
from fluxgen.backends.base import DiagnosisRule
from fluxgen.events import Event
from fluxgen.monitor import parse_text
from fluxgen.monitor.common import classify
from fluxgen.monitor.diagnose import summarize
from fluxgen.monitor.diagnoses import SHARED, priority, rules_for

DISK_FULL = "OSError: [Errno 28] No space left on device"


def test_every_shared_row_has_a_message_or_a_builder_and_codes_are_unique() -> None:
    codes = [rule.code for rule in SHARED]
    assert len(codes) == len(set(codes)) and codes[0] == "out_of_memory"
    assert all(rule.build is not None or (rule.message and rule.fix) for rule in SHARED)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_a_full_disk_is_diagnosed_not_a_crash(backend: str) -> None:
    error = Event("error", message=DISK_FULL, code=classify(DISK_FULL, backend), step=4)
    summary = summarize([Event("progress", step=3, total=10), error], exit_code=1, backend=backend)
    assert summary.diagnosis.code == "disk_full"
    assert summary.diagnosis.message == f"The disk ran out of space at step 4 while the trainer was writing: {DISK_FULL}"
    assert "Free space" in summary.diagnosis.fix


@pytest.mark.parametrize("backend", ["ai-toolkit", "sd-scripts"])
def test_parsers_name_a_full_disk(backend: str) -> None:
    text = f"Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n{DISK_FULL}\n"
    codes = [e.code for e in parse_text(backend, text) if e.type == "error"]
    assert codes == ["disk_full"]


def test_out_of_memory_outranks_a_full_disk() -> None:
    assert priority("out_of_memory") < priority("disk_full") < priority("crash")


def test_a_backend_row_replaces_the_shared_one_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = BACKENDS["builtin"]
    own = (DiagnosisRule("disk_full", r"disk is full", "Out of disk{at}.", "free it"),
           DiagnosisRule("own_code", r"very own", "Own: {message}", "own fix"))
    monkeypatch.setattr(type(backend), "diagnoses", own)
    rows = rules_for("builtin")
    assert [r.code for r in rows][:1] == ["own_code"]
    assert priority("disk_full", "builtin") == priority("disk_full") + 1  # same place, after own_code
    summary = summarize([Event("error", message="the very own failure", code="own_code")], exit_code=1,
                        backend="builtin")
    assert (summary.diagnosis.code, summary.diagnosis.message) == ("own_code", "Own: the very own failure")

