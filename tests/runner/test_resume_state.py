"""A resume starts from the step it says: a checkpoint whose state the trainer needs is broken is skipped, not
taken and then silently passed over by the trainer."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from fluxgen.runs.checkpoints import resume_point


def lora(path: Path) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"a.lora_A.weight": np.zeros((2, 2), np.float32)}, str(path))


def torch_like(path: Path) -> None:
    """A file shaped as torch.save writes it (a zip archive), without needing torch here."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    path.write_bytes(buf.getvalue())


@pytest.mark.parametrize("damage", ["garbage", "truncated", "deleted", "empty"])
def test_builtin_resume_skips_a_broken_newest_state(tmp_path: Path, damage: str) -> None:
    out = tmp_path / "output"
    for step in (20, 40, 60):
        lora(out / f"skull_{step:09d}.safetensors")
        torch_like(out / f"skull_{step:09d}.state.pt")
    state = out / "skull_000000060.state.pt"
    if damage == "garbage":
        state.write_bytes(b"\x00not a torch file" * 10)
    elif damage == "truncated":
        state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    elif damage == "deleted":
        state.unlink()
    else:
        state.write_bytes(b"")
    plan = SimpleNamespace(backend="builtin", values={"name": "skull"})
    point = resume_point(plan, tmp_path)
    assert point.step == 40 and point.path.name == "skull_000000040.safetensors"
    assert point.skipped[0][0].name == "skull_000000060.safetensors"
    assert "skull_000000060.state.pt" in point.skipped[0][1]


@pytest.mark.parametrize("damage", ["no-json", "empty-optimizer", "no-optimizer"])
def test_sd_scripts_resume_skips_a_broken_newest_state(tmp_path: Path, damage: str) -> None:
    out = tmp_path / "output"
    for step in (2, 4):
        folder = out / f"skull-step{step:08d}-state"
        lora(folder / "model.safetensors")
        (folder / "optimizer.bin").write_bytes(b"state\n")
        (folder / "train_state.json").write_text(json.dumps({"current_epoch": 1, "current_step": step}))
    newest = out / "skull-step00000004-state"
    if damage == "no-json":
        (newest / "train_state.json").write_text("{")
    elif damage == "empty-optimizer":
        (newest / "optimizer.bin").write_bytes(b"")
    else:
        (newest / "optimizer.bin").unlink()
    point = resume_point(SimpleNamespace(backend="sd-scripts", values={"name": "skull"}), tmp_path)
    assert point.step == 2 and point.skipped[0][0] == newest
