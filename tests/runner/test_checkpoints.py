"""Resume points: whole checkpoints only, newest first; broken ones set aside; sd-scripts from saved state."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from fluxgen.plan import Plan
from fluxgen.runs.checkpoints import SKIPPED_DIR, resume_point, safetensors_problem


def lora(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"a.lora_A.weight": np.ones((4, 8), np.float32)}, str(path), metadata={"step": "1"})
    return path


def plan(backend: str, name: str = "skull") -> Plan:
    return Plan({"name": name, "backend": backend, "steps": 10}, {})


def test_whole_file_passes(tmp_path: Path) -> None:
    assert safetensors_problem(lora(tmp_path / "ok.safetensors")) is None


@pytest.mark.parametrize("damage, why", [
    (lambda b: b[: len(b) // 2], "truncated"),
    (lambda b: b[:5], "shorter than a safetensors header"),
    (lambda b: struct.pack("<Q", 12) + b"not json at all", "unreadable header"),
    (lambda b: struct.pack("<Q", 2) + b"{}", "holds no tensors"),
])
def test_damaged_files_are_named(tmp_path: Path, damage, why: str) -> None:
    path = lora(tmp_path / "x.safetensors")
    path.write_bytes(damage(path.read_bytes()))
    assert why in safetensors_problem(path)
    assert safetensors_problem(tmp_path / "gone.safetensors") == "missing"


def test_ai_toolkit_newest_valid_checkpoint_and_broken_ones_moved_aside(tmp_path: Path) -> None:
    root = tmp_path / "output" / "skull"
    for step in (2, 4, 6):
        lora(root / f"skull_{step:09d}.safetensors")
    broken = root / "skull_000000006.safetensors"
    broken.write_bytes(broken.read_bytes()[:40])
    point = resume_point(plan("ai-toolkit"), tmp_path)
    assert (point.step, point.path) == (4, root / "skull_000000004.safetensors")
    assert point.extra_args == []
    assert [(p.name, "truncated" in why) for p, why in point.skipped] == [("skull_000000006.safetensors", True)]
    # moved where ai-toolkit's `<name>*` lookup cannot pick it, kept for the user to inspect
    assert not broken.exists() and (root / SKIPPED_DIR / broken.name).is_file()
    assert point.to_dict(tmp_path)["path"] == "output/skull/skull_000000004.safetensors"


def test_ai_toolkit_gets_nothing_newer_than_the_chosen_checkpoint(tmp_path: Path) -> None:
    """ai-toolkit takes the newest `<name>*` by ctime: the final file of a failed run, or an older checkpoint
    written again later, would win over the checkpoint fluxgen chose."""
    root = tmp_path / "output" / "skull"
    for step in (2, 4):
        lora(root / f"skull_{step:09d}.safetensors")
    lora(root / "skull.safetensors")
    lora(root / "skull_000000002.safetensors")  # rewritten after step 4's save: newer by ctime
    (root / SKIPPED_DIR).mkdir()
    (root / SKIPPED_DIR / "skull.safetensors").write_bytes(b"from an earlier resume")
    point = resume_point(plan("ai-toolkit"), tmp_path)
    assert point.step == 4
    assert sorted(p.name for p in root.glob("skull*")) == ["skull_000000004.safetensors"]
    assert sorted(p.name for p in (root / SKIPPED_DIR).iterdir()) == [
        "skull.2.safetensors", "skull.safetensors", "skull_000000002.safetensors"]
    assert (root / SKIPPED_DIR / "skull.safetensors").read_bytes() == b"from an earlier resume"
    assert {p.name for p, _ in point.skipped} == {"skull.safetensors", "skull_000000002.safetensors"}


def test_checkpoints_saved_after_the_loss_went_nan_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "output" / "skull"
    for step in (2, 4, 6):
        lora(root / f"skull_{step:09d}.safetensors")
    point = resume_point(plan("ai-toolkit"), tmp_path, bad_from=4)
    assert point.step == 2
    assert [(p.name, why) for p, why in point.skipped] == [
        ("skull_000000006.safetensors", "saved after the loss became NaN at step 4"),
        ("skull_000000004.safetensors", "saved after the loss became NaN at step 4")]


def test_builtin_resumes_with_its_flag(tmp_path: Path) -> None:
    import zipfile

    lora(tmp_path / "output" / "skull_000000003.safetensors")
    with zipfile.ZipFile(tmp_path / "output" / "skull_000000003.state.pt", "w") as zf:  # torch.save's format
        zf.writestr("archive/data.pkl", b".")
    point = resume_point(plan("builtin"), tmp_path)
    assert (point.step, point.extra_args) == (3, ["--resume"])


def state(folder: Path, step: int, *, weights: bool = True, optimizer: bool = True) -> Path:
    folder.mkdir(parents=True)
    (folder / "train_state.json").write_text(json.dumps({"current_epoch": 1, "current_step": step}))
    if weights:
        lora(folder / "model.safetensors")
    if optimizer:
        (folder / "optimizer.bin").write_bytes(b"x")
    return folder


def test_sd_scripts_newest_valid_state(tmp_path: Path) -> None:
    out = tmp_path / "output"
    state(out / "skull-step00000004-state", 4)
    state(out / "skull-step00000008-state", 8, optimizer=False)
    state(out / "skull-000001-state", 6)
    state(out / "skull2-step00000009-state", 9)  # another run's name: not ours
    point = resume_point(plan("sd-scripts"), tmp_path)
    assert point.step == 6
    assert point.extra_args == ["--resume", "output/skull-000001-state", "--skip_until_initial_step"]
    assert [(p.name, why) for p, why in point.skipped] == [("skull-step00000008-state", "no optimizer state")]


def test_sd_scripts_without_state(tmp_path: Path) -> None:
    lora(tmp_path / "output" / "skull-step00000004.safetensors")
    point = resume_point(plan("sd-scripts"), tmp_path)
    assert point.path is None and point.extra_args == []
