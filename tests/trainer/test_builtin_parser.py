"""`fluxgen.backends.builtin.console.parse` on consoles captured from the builtin trainer (tests/trainer/data/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxgen.backends.builtin.console import parse

DATA = Path(__file__).parent / "data"


def read(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").splitlines(keepends=True)


def test_interrupted_run():
    events = parse(read("builtin-interrupted.stdout"))
    phases = [e.phase for e in events if e.type == "phase"]
    assert phases == ["loading", "caching", "caching", "loading", "training", "sampling"]
    progress = [e for e in events if e.type == "progress"]
    assert [e.step for e in progress] == [1, 2, 3, 4]
    assert {e.total for e in progress} == {8}
    assert progress[0].loss == pytest.approx(1.450382)
    assert progress[1].lr == pytest.approx(5.0e-05)
    assert progress[2].seconds_per_it == pytest.approx(0.264)
    checkpoints = [(e.step, e.path) for e in events if e.type == "checkpoint"]
    assert checkpoints == [(2, "out/cyber_skull_000000002.safetensors"), (4, "out/cyber_skull_000000004.safetensors")]
    samples = [e.path for e in events if e.type == "sample"]
    assert samples == ["out/samples/000000004_0.png", "out/samples/000000004_1.png"]
    last = events[-1]
    assert (last.type, last.code, last.step, last.total) == ("error", "interrupted", 4, 8)
    assert last.line == 16


def test_resumed_run_with_a_skipped_checkpoint():
    events = parse(read("builtin-resume.stdout"))
    warnings = [e for e in events if e.type == "warning"]
    assert len(warnings) == 1
    assert warnings[0].message.startswith("skipping checkpoint out/cyber_skull_000000004.safetensors: unreadable")
    (resume,) = [e for e in events if e.type == "resume"]
    assert (resume.step, resume.path) == (2, "out/cyber_skull_000000002.safetensors")
    assert [e.step for e in events if e.type == "progress"] == [3, 4, 5, 6, 7, 8]
    final = events[-1]
    assert (final.type, final.final, final.step, final.path) == ("checkpoint", True, 8, "out/cyber_skull.safetensors")
    assert [e.step for e in events if e.type == "checkpoint" and not e.final] == [4, 6, 8]
    assert not [e for e in events if e.type == "error"]


def test_error_line_on_stderr():
    (event,) = parse(read("builtin-missing-dataset.stderr"))
    assert event.type == "error"
    assert event.code == "dataset_error"
    assert event.message == "images: dataset folder not found; set dataset.folder to a folder of images"


def test_carriage_returns_blank_lines_and_foreign_lines_are_tolerated():
    lines = ["\n", "Some library warning\r\n", "step 3/10 loss=nan lr=1.000e-04 s/it=0.500\r\n"]
    (event,) = parse(lines)
    assert event.type == "progress" and event.step == 3 and event.loss != event.loss
    assert event.line == 3


def test_a_crash_is_reported_by_its_last_traceback_line():
    lines = [
        "step 1/10 loss=0.400000 lr=1.000e-04 s/it=1.000",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
    ]
    events = parse(lines)
    assert events[-1].type == "error" and events[-1].code == "out_of_memory" and events[-1].line == 4


@pytest.mark.slow
def test_parses_a_live_run_into_the_files_it_wrote(reference_run):
    events = parse(reference_run.lines)
    assert [e.step for e in events if e.type == "progress"] == [1, 2, 3, 4, 5, 6]
    saved = {Path(e.path).name for e in events if e.type == "checkpoint"}
    on_disk = {p.name for p in reference_run.output.glob("*.safetensors")}
    assert on_disk <= saved and "tiny.safetensors" in saved
    samples = [Path(e.path) for e in events if e.type == "sample"]
    assert len(samples) == 4 and all(p.is_file() for p in samples)
