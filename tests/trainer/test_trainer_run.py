"""The builtin trainer end to end on the tiny model: outputs, metadata, resume, signals, loading the LoRA."""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

FINAL_KEYS = 40  # 14 modules in the double block + 6 in the single block, lora_A and lora_B each


def read_lora(path: Path):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return {key: fh.get_tensor(key) for key in fh.keys()}, fh.metadata()


def assert_same_lora(left: Path, right: Path) -> None:
    import torch

    a, _ = read_lora(left)
    b, _ = read_lora(right)
    assert sorted(a) == sorted(b)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)


def test_run_saves_checkpoints_samples_and_final_lora(reference_run):
    out = reference_run.output
    assert reference_run.code == 0, reference_run.stderr
    saved = [int(m.group(1)) for line in reference_run.lines if (m := re.match(r"saved checkpoint step (\d+)", line))]
    assert saved == [2, 4, 6]
    # keep_last: 2 leaves the two newest step checkpoints next to the final LoRA
    assert sorted(p.name for p in out.iterdir()) == [
        "samples", "tiny.safetensors", "tiny_000000004.safetensors", "tiny_000000004.state.pt",
        "tiny_000000006.safetensors", "tiny_000000006.state.pt",
    ]  # fmt: skip
    samples = sorted(p.name for p in (out / "samples").iterdir())
    assert samples == ["000000003_0.png", "000000003_1.png", "000000006_0.png", "000000006_1.png"]
    from PIL import Image

    with Image.open(out / "samples" / "000000006_1.png") as image:
        assert image.size == (32, 32)
    assert reference_run.lines[-1] == f"done: {out / 'tiny.safetensors'}"
    assert reference_run.stderr == ""


def test_final_lora_has_diffusers_keys_and_metadata(reference_run):
    tensors, metadata = read_lora(reference_run.output / "tiny.safetensors")
    assert len(tensors) == FINAL_KEYS
    assert all(key.startswith("transformer.") for key in tensors)
    assert tensors["transformer.transformer_blocks.0.attn.to_q.lora_A.weight"].shape == (4, 32)
    assert tensors["transformer.transformer_blocks.0.attn.to_q.lora_B.weight"].shape == (32, 4)
    assert "transformer.single_transformer_blocks.0.proj_mlp.lora_B.weight" in tensors
    assert metadata["fluxgen.plan_hash"] == "abc123"
    assert metadata["trigger"] == "p3r5on"
    assert metadata["rank"] == "4"
    assert metadata["fluxgen.step"] == "6"
    assert metadata["fluxgen.alpha"] == "8.0"
    assert metadata["fluxgen.lora_B_scaled_by"] == "2.0"
    assert metadata["fluxgen.trainer"] == "builtin"
    _, step_metadata = read_lora(reference_run.output / "tiny_000000004.safetensors")
    assert step_metadata["fluxgen.step"] == "4"
    assert step_metadata["fluxgen.plan_hash"] == "abc123"


def test_loss_is_finite_and_the_lora_moves_from_its_init(reference_run, tiny_model):
    import torch

    from fluxgen.trainer.model import add_lora, export_key, load_transformer

    losses = reference_run.losses()
    assert sorted(losses) == [1, 2, 3, 4, 5, 6]
    assert all(math.isfinite(v) and v > 0 for v in losses.values())
    init = add_lora(load_transformer(str(tiny_model), torch.float32, "cpu"), rank=4, alpha=8.0, seed=7)
    trained, _ = read_lora(reference_run.output / "tiny.safetensors")
    for name, param in init.items():
        assert not torch.allclose(trained[export_key(name)], param.detach()), name


def test_resume_continues_the_same_trajectory(reference_run, new_run, trainer):
    config, out = new_run()
    first = trainer(config, out, stop_after="saved checkpoint step 4")
    assert first.code == 130
    assert first.lines[-1] == "interrupted at step 4/6 by SIGINT"
    assert not (out / "tiny.safetensors").exists()
    second = trainer(config, out, resume=True)
    assert second.code == 0, second.stderr
    assert f"resumed from step 4: {out / 'tiny_000000004.safetensors'}" in second.lines
    assert sorted(second.losses()) == [5, 6]
    for step, loss in second.losses().items():
        assert loss == pytest.approx(reference_run.losses()[step], rel=1e-5)
    assert_same_lora(out / "tiny.safetensors", reference_run.output / "tiny.safetensors")


def test_resume_skips_a_corrupt_last_checkpoint(reference_run, new_run, trainer):
    def disk_cache(data):
        data["dataset"]["cache_to_disk"] = True

    config, out = new_run(disk_cache)
    assert trainer(config, out, stop_after="saved checkpoint step 4").code == 130
    corrupt = out / "tiny_000000004.safetensors"
    corrupt.write_bytes(corrupt.read_bytes()[:1000])
    second = trainer(config, out, resume=True)
    assert second.code == 0, second.stderr
    assert any(line.startswith(f"warning: skipping checkpoint {corrupt}: unreadable") for line in second.lines)
    assert f"resumed from step 2: {out / 'tiny_000000002.safetensors'}" in second.lines
    assert "caching latents: 3 images at 64x64 (from disk cache)" in second.lines
    assert "caching text embeddings: 6 distinct texts (from disk cache)" in second.lines
    assert_same_lora(out / "tiny.safetensors", reference_run.output / "tiny.safetensors")


def test_a_second_run_into_the_same_folder_needs_resume(reference_run, trainer):
    again = trainer(reference_run.config, reference_run.output)
    assert again.code == 1
    assert again.lines == []
    assert again.stderr.count("\n") == 1
    assert "already holds checkpoints named 'tiny'; pass --resume" in again.stderr


def test_final_lora_loads_into_a_flux_pipeline_and_matches_training(reference_run, tiny_model):
    import torch
    from diffusers import FluxPipeline

    from fluxgen.trainer.checkpoint import read_state, step_checkpoint
    from fluxgen.trainer.model import add_lora, load_transformer

    pipe = FluxPipeline.from_pretrained(str(tiny_model))
    pipe.set_progress_bar_config(disable=True)
    pipe.load_lora_weights(str(reference_run.output / "tiny.safetensors"))
    generator = torch.Generator().manual_seed(0)
    image = pipe("p3r5on holding a sign", height=64, width=64, num_inference_steps=2, generator=generator).images[0]
    assert image.size == (64, 64)

    # The loaded LoRA acts like the trained one (alpha 8 / rank 4 folded into lora_B).
    trained = load_transformer(str(tiny_model), torch.float32, "cpu")
    params = add_lora(trained, rank=4, alpha=8.0, seed=0)
    state = read_state(step_checkpoint(reference_run.output, "tiny", 6))
    with torch.no_grad():
        for name, param in params.items():
            param.copy_(state["lora"][name])
    inputs = {
        "hidden_states": torch.randn(1, 16, 64), "encoder_hidden_states": torch.randn(1, 8, 32),
        "pooled_projections": torch.randn(1, 32), "timestep": torch.tensor([0.5]), "guidance": torch.tensor([1.0]),
        "img_ids": torch.zeros(16, 3), "txt_ids": torch.zeros(8, 3), "return_dict": False,
    }  # fmt: skip
    with torch.no_grad():
        expected = trained(**inputs)[0]
        got = pipe.transformer(**inputs)[0]
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_sigterm_stops_cleanly_at_a_step_boundary(new_run):
    def long_run(data):
        data["train"]["steps"] = 100_000
        data["save"]["every"] = 1000
        data["sample"]["every"] = 0

    config, out = new_run(long_run)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fluxgen.trainer", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line.rstrip("\n"))
            if line.startswith("step 3/"):
                proc.send_signal(signal.SIGTERM)
                break
        rest, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    seen += rest.splitlines()
    assert proc.returncode == 143, stderr
    assert re.fullmatch(r"interrupted at step \d+/100000 by SIGTERM", seen[-1])
    assert "Traceback" not in stderr
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*"))
    assert not (out / "tiny.safetensors").exists()


def test_noise_offset_and_loss_type_change_the_run(reference_run, new_run, trainer):
    """train.noise_offset and train.loss_type (rendered by the builtin backend) are read and used: the same seed
    with a different loss or an offset gives other losses, each finite."""

    def change(data):
        data["train"].update(noise_offset=0.1, loss_type="huber")
        data["sample"]["every"] = 0
        data["train"]["steps"] = 2

    config, output = new_run(change)
    run = trainer(config, output)
    assert run.code == 0, run.stderr
    losses = run.losses()
    assert sorted(losses) == [1, 2] and all(math.isfinite(v) and v > 0 for v in losses.values())
    assert losses[1] != reference_run.losses()[1]
