"""The builtin trainer's config, captions, step randomness and one-line errors (no model needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fluxgen.errors import ConfigErrors, UserError
from fluxgen.trainer import flow
from fluxgen.trainer.config import DatasetSection, parse_config, round_to_16
from fluxgen.trainer.data import apply_trigger, caption_for, scan_dataset

MINIMAL = {"model": {"path": "/models/flux"}, "dataset": {"folder": "/data/imgs"}, "save": {"output_dir": "/runs/a"}}


def run_module(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "fluxgen.trainer", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_minimal_config_gets_documented_defaults():
    cfg = parse_config(MINIMAL, "c.yaml")
    assert cfg.model.dtype == "auto"
    assert cfg.network.rank == 16 and cfg.alpha == 16.0
    assert cfg.train.guidance == 1.0 and cfg.train.lr == 1.0e-4 and cfg.train.optimizer == "adamw"
    assert cfg.save.name == "lora" and cfg.save.keep_last == 4
    assert cfg.sample.every == 0 and cfg.metadata == {}
    assert cfg.resolution == 1024


def test_unknown_key_is_named_with_a_suggestion():
    data = {**MINIMAL, "network": {"rnak": 8}}
    with pytest.raises(ConfigErrors, match=r"^c\.yaml: network\.rnak: unknown key \(did you mean 'rank'\?\)$"):
        parse_config(data, "c.yaml")


def test_every_problem_is_reported():
    data = {"model": {"path": "x"}, "dataset": {"folder": "d", "caption_mode": "tags"}, "train": {"lr": -1}}
    with pytest.raises(ConfigErrors) as info:
        parse_config(data, "c.yaml")
    problems = info.value.problems
    assert any(p.startswith("dataset.caption_mode: Input should be") for p in problems)
    assert any(p.startswith("train.lr: Input should be greater than 0") for p in problems)
    assert "save: required key is missing" in problems


def test_trigger_mode_needs_a_trigger():
    data = {**MINIMAL, "dataset": {"folder": "d", "caption_mode": "trigger"}}
    with pytest.raises(ConfigErrors, match="caption_mode 'trigger' needs dataset.trigger"):
        parse_config(data, "c.yaml")


def test_empty_prompt_list_and_metadata_read_as_empty():
    data = yaml.safe_load("model: {path: m}\ndataset: {folder: d}\nsave: {output_dir: o}\nsample:\n  prompts:\nmetadata:\n")
    cfg = parse_config(data, "c.yaml")
    assert cfg.sample.prompts == [] and cfg.metadata == {}


def test_float_strings_from_yaml_are_read_as_numbers():
    data = yaml.safe_load("model: {path: m}\ndataset: {folder: d}\nsave: {output_dir: o}\ntrain: {lr: 1e-4}\n")
    assert parse_config(data, "c.yaml").train.lr == 1.0e-4


@pytest.mark.parametrize(("given", "used"), [(64, 64), (70, 64), (1000, 992), (1024, 1024), (20, 16)])
def test_resolution_is_rounded_to_a_multiple_of_16(given, used):
    assert round_to_16(given) == used


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("a photo of [trigger] on a table", "a photo of CSK on a table"),
        ("a red square", "CSK, a red square"),
        ("CSK in the rain", "CSK in the rain"),
        ("", "CSK"),
    ],
)
def test_trigger_is_substituted_or_prepended(caption, expected):
    assert apply_trigger(caption, "CSK") == expected


def test_sample_prompts_only_get_the_placeholder_replaced():
    assert apply_trigger("[trigger] as a watercolor", "CSK", prepend=False) == "CSK as a watercolor"
    assert apply_trigger("a cat", "CSK", prepend=False) == "a cat"


def test_caption_modes(tmp_path: Path):
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "a.caption").write_text("  a dog\n in a field ", encoding="utf-8")
    image = tmp_path / "a.png"
    section = DatasetSection(folder=str(tmp_path), caption_ext=".caption", trigger="CSK")
    assert caption_for(image, section) == "CSK, a dog in a field"
    assert caption_for(image, section.model_copy(update={"caption_mode": "trigger"})) == "CSK"
    assert caption_for(image, section.model_copy(update={"caption_mode": "none"})) == ""
    assert caption_for(image, section.model_copy(update={"caption_ext": "txt"})) == "CSK"


def test_dataset_errors(tmp_path: Path):
    with pytest.raises(UserError, match="dataset folder not found"):
        scan_dataset(DatasetSection(folder=str(tmp_path / "missing")))
    (tmp_path / "notes.txt").write_text("no pictures here")
    (tmp_path / "._img.png").write_bytes(b"resource fork")
    with pytest.raises(UserError, match=r"no images found .*add training images"):
        scan_dataset(DatasetSection(folder=str(tmp_path)))


def test_metadata_values_become_strings_and_trainer_facts_win():
    import datetime

    from fluxgen.trainer.metadata import lora_metadata

    given = {"tags": ["a", "b"], "made": datetime.date(2024, 5, 1), "trigger": "CSK", "fluxgen.step": "999"}
    cfg = parse_config({**MINIMAL, "metadata": given}, "c.yaml")
    metadata = lora_metadata(cfg, step=10, image_count=3, base_model="/models/flux")
    assert metadata["tags"] == '["a", "b"]'
    assert metadata["made"] == '"2024-05-01"'
    assert metadata["trigger"] == "CSK"
    assert metadata["fluxgen.step"] == "10"
    assert metadata["fluxgen.base_model"] == "/models/flux"
    assert all(isinstance(v, str) for v in metadata.values())


def test_each_epoch_shows_every_image_once():
    order = [i for step in range(5) for i in flow.batch_indices(seed=3, step=step, batch_size=2, count=5)]
    assert sorted(order) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert sorted(order[:5]) == [0, 1, 2, 3, 4]
    assert flow.batch_indices(3, 4, 2, 5) == flow.batch_indices(3, 4, 2, 5)


def test_timestep_sampling_modes():
    import torch

    def draw(mode: str):
        return flow.sample_timesteps(mode, 4000, torch.Generator().manual_seed(0), sigmoid_scale=1.0, shift=3.0)

    for mode in ("uniform", "sigmoid", "shift"):
        t = draw(mode)
        assert float(t.min()) > 0.0 and float(t.max()) < 1.0
    assert float(draw("sigmoid").mean()) == pytest.approx(0.5, abs=0.02)
    assert float(draw("shift").mean()) > 0.6  # shifted towards noise


def test_cli_unknown_key_exits_1_with_one_line(tmp_path: Path):
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump({**MINIMAL, "train": {"stpes": 10}}), encoding="utf-8")
    result = run_module(str(config))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"error: {config}: train.stpes: unknown key (did you mean 'steps'?)\n"


def test_cli_missing_dataset_exits_1_with_one_line(tmp_path: Path):
    config = tmp_path / "train.yaml"
    data = {**MINIMAL, "dataset": {"folder": str(tmp_path / "nowhere")}, "save": {"output_dir": str(tmp_path / "o")}}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run_module(str(config))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {tmp_path / 'nowhere'}: dataset folder not found; set dataset.folder to a folder of images\n"
    )


def test_cli_missing_config_file(tmp_path: Path):
    result = run_module(str(tmp_path / "absent.yaml"))
    assert result.returncode == 1
    assert result.stderr == f"error: {tmp_path / 'absent.yaml'}: no such file\n"


def _config_with(tmp_path: Path, **sections) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.png").write_bytes(b"")
    data = {**MINIMAL, "dataset": {"folder": str(images)}, "save": {"output_dir": str(tmp_path / "o")}, **sections}
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return config


def test_cli_missing_model_folder_exits_1_with_one_line(tmp_path: Path):
    config = _config_with(tmp_path, model={"path": str(tmp_path / "no-model")})
    result = run_module(str(config))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {tmp_path / 'no-model'}: model folder not found; "
        "set model.path to a diffusers FLUX.1 folder or a hub id\n"
    )


def test_cli_folder_that_is_not_a_flux_model(tmp_path: Path):
    (tmp_path / "empty-model").mkdir()
    config = _config_with(tmp_path, model={"path": str(tmp_path / "empty-model")})
    result = run_module(str(config))
    assert result.returncode == 1
    assert "not a diffusers FLUX.1 folder (needs model_index.json and transformer/)" in result.stderr
    assert result.stderr.count("\n") == 1


def test_cli_adamw8bit_without_bitsandbytes_falls_back_and_says_so(tmp_path: Path):
    """The plan asks for 8-bit AdamW on every machine; where bitsandbytes does not import, the trainer uses AdamW
    and its log says so (the run records it as an `optimizer_fallback` warning)."""
    import importlib.util

    from fluxgen.monitor import parse_streams

    if importlib.util.find_spec("bitsandbytes") is not None:
        pytest.skip("bitsandbytes is installed here, so adamw8bit is available")
    config = _config_with(tmp_path, train={"optimizer": "adamw8bit"})
    result = run_module(str(config))
    assert "bitsandbytes" not in result.stderr  # it goes on (and here stops later, on the empty image)
    warning = [e for e in parse_streams("builtin", [result.stdout, result.stderr]) if e.type == "warning"]
    assert warning and warning[0].code == "optimizer_fallback"
    assert "adamw8bit needs bitsandbytes, which does not import here; training with adamw" in warning[0].message
