"""sd-scripts through the CLI: the double runs under the real `accelerate launch`, as the pinned trainer does."""

from __future__ import annotations

import json
from pathlib import Path

from runner.support import group_members, manifest, only_run, train_args

from helpers import cli_run


def sd_train(images: Path, model: Path, *extra: str, **env: str):
    return cli_run(*train_args(images, model, *extra, backend="sd-scripts"), env=env)


def test_success_with_steps_samples_and_state(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    result = sd_train(images, model_dir)
    assert result.exit_code == 0, result.stderr
    run = only_run(tmp_path / "runs")
    m = manifest(run)
    assert (m["status"], m["final_lora"]) == ("completed", "output/cyber-skull.safetensors")
    assert [c["step"] for c in m["checkpoints"]] == [2, 4, 6, 8]
    assert sorted({s["step"] for s in m["samples"]}) == [4, 8]
    assert {s["index"] for s in m["samples"]} == {0, 1, 2, 3}
    # the generated config saves state, newest two kept: what `resume` continues from
    assert sorted(p.name for p in (run / "output").glob("*-state")) == [
        "cyber-skull-state", "cyber-skull-step00000006-state", "cyber-skull-step00000008-state"]
    assert "defaults used instead" not in (run / "train.log").read_text()  # accelerate got all its flags
    assert not group_members(m["attempts"][0]["pid"])


def test_exit_0_without_training_is_a_failure(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    result = sd_train(images, model_dir, FAKE_SCENARIO="no-data")
    assert result.exit_code == 1
    m = manifest(only_run(tmp_path / "runs"))
    assert (m["exit_code"], m["status"], m["diagnosis"]["code"]) == (0, "failed", "no_data")
    assert "image_dir" in result.stderr


def test_rejected_dataset_key(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    result = sd_train(images, model_dir, FAKE_SCENARIO="bad-dataset-key")
    assert result.exit_code == 1
    m = manifest(only_run(tmp_path / "runs"))
    assert (m["exit_code"], m["diagnosis"]["code"]) == (1, "dataset_error")
    assert "datasets[0].subsets[0].foo" in m["diagnosis"]["fix"]


def test_out_of_memory_names_the_sd_scripts_options(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    result = sd_train(images, model_dir, FAKE_SCENARIO="oom")
    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]
    # fluxgen options for this plan (24 GB tier, 1024 px, batch size 1), not trainer keys
    assert "`--set train.resolution=[768]`" in last and "`--vram 16` (the next VRAM tier down" in last
    assert "batch_size" not in last and "--blocks_to_swap" not in last and "ai-toolkit" not in last
    events = [json.loads(line) for line in (only_run(tmp_path / "runs") / "events.jsonl").read_text().splitlines()]
    assert any(e["type"] == "error" and e.get("code") == "out_of_memory" for e in events)
