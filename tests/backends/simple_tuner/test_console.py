"""SimpleTuner's console, read from real captures of SimpleTuner 4.10.1 training the tiny FLUX on a CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxgen.backends.simple_tuner import BACKEND
from fluxgen.backends.simple_tuner.console import parse

CAPTURES = Path(__file__).parent / "captures"


def events(name: str, *types: str) -> list[dict[str, object]]:
    lines = (CAPTURES / name).read_text(encoding="utf-8").splitlines(keepends=True)
    return [e.to_dict() for e in parse(lines) if not types or e.type in types]


def test_training_progress_has_each_steps_own_loss() -> None:
    progress = [(e["step"], e["total"], e["loss"], e["lr"]) for e in events("train-tiny-cpu.log", "progress")]
    assert progress == [(1, 4, 1.56, 1e-4), (2, 4, 1.61, 1e-4), (3, 4, 1.52, 1e-4), (4, 4, 1.47, 1e-4)]


def test_checkpoints_and_phases() -> None:
    found = events("train-tiny-cpu.log", "checkpoint", "phase")
    assert [(e["step"], e["path"]) for e in found if e["type"] == "checkpoint"] == [
        (2, "output/checkpoint-2"), (4, "output/checkpoint-4")]
    phases = [e["phase"] for e in found if e["type"] == "phase"]
    assert phases[:4] == ["loading", "caching", "loading", "training"]
    assert "sampling" in phases and "saving" in phases
    assert events("train-tiny-cpu.log", "error", "warning") == []


def test_resume_from_latest() -> None:
    found = events("resume-tiny-cpu.log", "resume", "progress", "checkpoint")
    assert [(e["type"], e["step"]) for e in found] == [
        ("resume", 4), ("progress", 5), ("checkpoint", 6), ("progress", 6)]
    assert found[0]["path"] == "output/checkpoint-4"


def test_unknown_key_is_a_bad_argument() -> None:
    (error,) = events("unknown-key.log", "error")
    assert error["code"] == "bad_argument"
    assert error["message"] == "config.json: unrecognized arguments: --lora_rnak=16"


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_incremental_feeding_gives_the_same_events(size: int) -> None:
    text = (CAPTURES / "train-tiny-cpu.log").read_text(encoding="utf-8")
    parser = BACKEND.new_parser()
    got = []
    for i in range(0, len(text), size):
        got += parser.feed(text[i:i + size])
    got += parser.close()
    assert [e.to_dict() for e in got] == events("train-tiny-cpu.log")


def test_missing_dataset_folder() -> None:
    (error,) = events("missing-dataset.log", "error")
    assert (error["code"], error["phase"]) == ("missing_file", "caching")
    assert error["message"].startswith("FileNotFoundError: The following dataset directories do not exist")
