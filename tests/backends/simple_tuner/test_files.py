"""config.json and multidatabackend.json from a plan: the values land under SimpleTuner's names, read back exactly,
validate clean; outputs and the launch command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fluxgen.backends.simple_tuner import files, planning
from fluxgen.errors import RenderMismatch, UserError
from fluxgen.plan import Plan

VALUES = {
    "name": "cyber-skull", "kind": "subject", "backend": "simpletuner", "trigger": "CSKULL", "dataset": "/data/skull",
    "images": 20, "fingerprint": "sha256:" + "0" * 64, "rank": 32, "alpha": 32.0, "train_text_encoder": False,
    "steps": 2000, "lr": 1e-4, "lr_scheduler": "constant", "warmup_steps": 0, "batch_size": 1, "save_every": 250,
    "keep_checkpoints": 8, "resolution": [1024], "precision": "bf16", "gradient_checkpointing": True,
    "guidance": 1.0, "seed": 42, "workers": 2, "vram": 24, "vram_tier": 24, "caption_mode": "captions",
    "caption_ext": ".txt", "repeats": 1, "buckets": True, "shuffle_captions": False, "caption_dropout": 0.05,
    "base_model": "dev", "base_model_kind": "dev", "model_path": "black-forest-labs/FLUX.1-dev",
    "sample_prompts": ["A watercolor painting of [trigger]", "[trigger] as a 3D render"], "sample_every": 250,
    "sample_seed": 42, "sample_steps": 20, "sample_guidance": 4.0, "sample_size": 1024,
}


class Rules:
    """The resolver's interface the SimpleTuner hooks use."""

    def __init__(self, values: dict[str, object], given: dict[str, object] | None = None) -> None:
        self.values, self.origins, self.warnings, self._given = values, {}, [], given or {}

    def set(self, key: str, value: object, why: str) -> object:
        self.values[key], self.origins[key] = value, why
        return value

    def take(self, key: str, path: str, default: object, why: str) -> object:
        return self.set(key, self._given.get(path, self.values.get(key, default)), why)

    def warn(self, message: str, source: str, severity: str = "warning") -> None:
        self.warnings.append(message)


def plan(**changes: object) -> Plan:
    values = {**VALUES, **changes}
    planning.plan_settings(Rules(values))
    return Plan(values, {}, [], {"kind": "subject"}, ["presets/cyber-skull.yaml"])


def test_values_under_simpletuners_names() -> None:
    config = files.config_dict(plan())
    assert {k: config[k] for k in ("model_family", "model_type", "lora_type", "lora_rank", "lora_alpha",
                                   "max_train_steps", "checkpoint_step_interval", "base_model_precision",
                                   "optimizer", "resolution", "resolution_type", "validation_prompt",
                                   "user_prompt_library", "resume_from_checkpoint")} == {
        "model_family": "flux", "model_type": "lora", "lora_type": "standard", "lora_rank": 32, "lora_alpha": 32.0,
        "max_train_steps": 2000, "checkpoint_step_interval": 250, "base_model_precision": "int8-quanto",
        "optimizer": "adamw_bf16", "resolution": 1024, "resolution_type": "pixel_area",
        "validation_prompt": "A watercolor painting of CSKULL", "user_prompt_library": "prompt_library.json",
        "resume_from_checkpoint": "latest"}


@pytest.mark.parametrize(("tier", "precision"), [(80, "no_change"), (48, "no_change"), (24, "int8-quanto"),
                                                 (16, "int4-quanto"), (12, "nf4-bnb"), (8, "nf4-bnb")])
def test_quantisation_per_tier(tier: int, precision: str) -> None:
    assert files.config_dict(plan(vram=tier, vram_tier=tier))["base_model_precision"] == precision


def test_trigger_only_captions_use_the_instance_prompt() -> None:
    images, text = files.datasets_list(plan(caption_mode="trigger"))
    assert (images["caption_strategy"], images["instance_prompt"]) == ("instanceprompt", "CSKULL")
    assert "caption_file_extensions" not in images
    assert (text["dataset_type"], text["default"], text["cache_dir"]) == ("text_embeds", True, "cache/text")


def test_no_captions_drop_every_stand_in_caption() -> None:
    p = plan(caption_mode="none", trigger=None)
    (images, _), config = files.datasets_list(p), files.config_dict(p)
    assert (images["caption_strategy"], images["instance_prompt"]) == ("instanceprompt", "cyber-skull")
    assert config["caption_dropout_probability"] == 1.0


def test_local_folder_and_schnell() -> None:
    local = files.config_dict(plan(base_model_kind="local", model_path="/models/tiny"))
    assert (local["pretrained_model_name_or_path"], local["model_flavour"]) == ("/models/tiny", "dev")
    schnell = files.config_dict(plan(base_model_kind="schnell", model_path="black-forest-labs/FLUX.1-schnell"))
    assert schnell["model_flavour"] == "schnell"


def test_fp32_gets_an_fp32_optimizer_and_uniform_timesteps() -> None:
    config = files.config_dict(plan(precision="fp32", timestep_sampling="uniform"))
    assert (config["optimizer"], config["mixed_precision"], config["flow_use_uniform_schedule"]) == (
        "optimi-adamw", "no", True)


def test_render_reads_back_and_validates(tmp_path: Path) -> None:
    rendered = files.render(plan(), "/envs/st/bin/python")
    assert sorted(rendered) == ["command.txt", "config.json", "multidatabackend.json", "prompt_library.json"]
    from fluxgen.backends.simple_tuner.validator import check_rendered

    check_rendered(rendered)
    assert json.loads(rendered["prompt_library.json"]) == {"prompt_1": "CSKULL as a 3D render"}
    comment = json.loads(rendered["config.json"])["modelspec_comment"]
    assert comment[0].startswith("Generated by fluxgen") and comment[-1].startswith("fluxgen-meta: ")
    assert rendered["command.txt"].splitlines()[-1] == (
        "COLUMNS=200 CONFIG_BACKEND=json CONFIG_PATH=config.json PYTHONIOENCODING=utf-8 PYTHONUNBUFFERED=1 "
        "SIMPLETUNER_LOG_LEVEL=INFO TOKENIZERS_PARALLELISM=false TQDM_NCOLS=125 /envs/st/bin/python -m "
        "simpletuner.train")


def test_read_back_mismatch_is_caught() -> None:
    p = plan()
    rendered = files.render(p, "python")
    tampered = dict(rendered, **{"config.json": rendered["config.json"].replace('"lora_rank": 32', '"lora_rank": 3')})
    with pytest.raises(RenderMismatch, match="lora_rank: rendered 3, plan says 32"):
        files.check(p, tampered)


def test_env_placeholders_are_refused() -> None:
    with pytest.raises(UserError, match=r"\{env:"):
        plan(sample_prompts=["a {env:HOME} skull"])


def test_find_outputs(tmp_path: Path) -> None:
    out = tmp_path / "output"
    for step in (250, 500):
        (out / f"checkpoint-{step}").mkdir(parents=True)
        (out / f"checkpoint-{step}" / "pytorch_lora_weights.safetensors").write_bytes(b"x")
    (out / "validation_images").mkdir()
    (out / "validation_images" / "step_250_validation_0_1024x1024.png").write_bytes(b"x")
    found = files.find_outputs(plan(), tmp_path)
    assert found.final is None
    assert [s for s, _ in found.checkpoints] == [250, 500] and len(found.samples) == 1
    (out / "pytorch_lora_weights.safetensors").write_bytes(b"x")
    assert files.find_outputs(plan(), tmp_path).final == out / "pytorch_lora_weights.safetensors"
