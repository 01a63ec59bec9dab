"""`config.json` and `multidatabackend.json` checks: what SimpleTuner 4.10.1's loader stops on is an error, what it
silently drops or reinterprets is a warning, and nothing it accepts is called unknown."""

from __future__ import annotations

import json

import pytest

from fluxgen.backends.simple_tuner.validator import KIND_CONFIG, KIND_DATASETS, validate_text

BASE = {"model_family": "flux", "model_type": "lora", "optimizer": "adamw_bf16", "output_dir": "output",
        "data_backend_config": "multidatabackend.json", "lora_rank": 16, "learning_rate": 1e-4,
        "max_train_steps": 100, "num_train_epochs": 0, "resolution_type": "pixel_area"}


def check(data: object) -> list[str]:
    report = validate_text(json.dumps(data), "config.json")
    return [f"{f.severity} {f.path}: {f.message}" for f in report.sorted()]


def test_a_minimal_flux_config_is_clean() -> None:
    assert check(BASE) == []
    assert validate_text(json.dumps(BASE), "c.json").kind == KIND_CONFIG


def test_unknown_key_with_did_you_mean() -> None:
    assert check({**BASE, "lora_rnak": 16}) == [
        "error lora_rnak: unknown key: SimpleTuner's parser stops on it (did you mean 'lora_rank'?)"]


def test_a_unique_prefix_is_read_as_that_option_not_called_unknown() -> None:
    found = check({**BASE, "checkpoints_total_lim": 3})
    assert found == ["warning checkpoints_total_lim: not an option name: SimpleTuner's parser takes it as an "
                     "abbreviation of 'checkpoints_total_limit'"]


def test_ambiguous_prefix_stops_the_parser() -> None:
    (only,) = check({**BASE, "validation_guidance_skip": 1})
    assert only.startswith("error validation_guidance_skip: ambiguous")


@pytest.mark.parametrize(("key", "value", "message"), [
    ("lora_rank", 16.0, "error lora_rank: must be a whole number, not a string ('16.0')"),
    ("lora_rank", "sixteen", "error lora_rank: must be a whole number, not a string ('sixteen')"),
    ("learning_rate", "fast", "error learning_rate: must be a number, not a string ('fast')"),
    ("lr_scheduler", "cosin", "error lr_scheduler: 'cosin' is not one of SimpleTuner's choices "
                              "(did you mean 'cosine'?)"),
    ("gradient_checkpointing", "maybe", "error gradient_checkpointing: must be true or false, not a string "
                                        "('maybe')"),
    ("lora_rank", True, "error lora_rank: a bare flag (true) for an option that takes a value"),
    ("report_to", "wandb,none", "error report_to: must be trackers from comet_ml, custom-tracker, none, "
                                "simpletuner, swanlab, tensorboard, wandb, not a string ('wandb,none')"),
])
def test_types_and_choices(key: str, value: object, message: str) -> None:
    assert check({**BASE, key: value}) == [message]


def test_legacy_names_are_translated_and_said_so() -> None:
    found = check({**BASE, "checkpointing_steps": 250, "validation_steps": 250})
    assert found == ["info checkpointing_steps: an old name: SimpleTuner reads it as 'checkpoint_step_interval'",
                     "info validation_steps: an old name: SimpleTuner reads it as 'validation_step_interval'"]


def test_dataset_keys_in_config_are_ignored_by_simpletuner() -> None:
    assert check({**BASE, "repeats": 3}) == [
        "warning repeats: SimpleTuner ignores this key in config.json: it is a dataset setting"]


def test_a_list_keeps_only_its_last_item() -> None:
    assert check({**BASE, "validation_guidance_skip_layers": [7, 8, 9]}) == [
        "warning validation_guidance_skip_layers: a list of 3: SimpleTuner's parser keeps only the last item ('9')"]


def test_required_options_and_conflicts_at_start_up() -> None:
    data = {k: v for k, v in BASE.items() if k != "model_family"}
    data.update(num_train_epochs=2, optimizer="adamw8bit", maximum_image_size=256, resolution_type="pixel")
    assert check(data) == [
        "error model_family: required: SimpleTuner's parser stops without it",
        "error optimizer: 'adamw8bit' was removed from SimpleTuner (SimpleTuner's start-up check)",
        "error num_train_epochs: max_train_steps and num_train_epochs are both set (SimpleTuner's start-up check)",
        "error target_downsample_size: maximum_image_size needs target_downsample_size (SimpleTuner's start-up "
        "check)",
        "error maximum_image_size: 256 is in pixels with resolution_type pixel and must be at least 512 "
        "(SimpleTuner's start-up check)",
    ]


def test_unknown_optimizer() -> None:
    (only,) = check({**BASE, "optimizer": "adamw_bf17"})
    assert only.startswith("error optimizer: unknown optimizer 'adamw_bf17' (did you mean 'adamw_bf16'?)")


def test_values_false_and_null_are_dropped_like_simpletuner_does() -> None:
    assert check({**BASE, "push_to_hub": "false", "seed": None, "use_ema": False}) == []


def test_not_json_names_line_and_column() -> None:
    report = validate_text('{"model_family": "flux",\n  "lora_rank": 16,\n}', "config.json")
    assert [f"{f.path}: {f.message}" for f in report.errors] == [
        "line 3: not valid JSON: Expecting property name enclosed in double quotes (column 1)"]


DATASETS = [
    {"id": "images", "type": "local", "instance_data_dir": "/data", "caption_strategy": "textfile",
     "resolution": 1024, "resolution_type": "pixel_area", "cache_dir_vae": "cache/vae"},
    {"id": "text", "dataset_type": "text_embeds", "default": True, "type": "local", "cache_dir": "cache/text"},
]


def datasets(entries: list[dict[str, object]]) -> list[str]:
    report = validate_text(json.dumps(entries), "multidatabackend.json")
    assert report.kind == KIND_DATASETS
    return [f"{f.severity} {f.path}: {f.message}" for f in report.sorted()]


def test_datasets_clean() -> None:
    assert datasets(DATASETS) == []


def test_datasets_unknown_key_is_a_warning_with_did_you_mean() -> None:
    entry = {**DATASETS[0], "caption_stratgy": "textfile"}
    assert datasets([entry, DATASETS[1]]) == [
        "warning [0](images).caption_stratgy: SimpleTuner does not read this key; it is ignored "
        "(did you mean 'caption_strategy'?)"]


def test_datasets_start_up_checks() -> None:
    entry = {**DATASETS[0], "resolution_type": "pixel", "maximum_image_size": 256, "crop_style": "middle"}
    assert datasets([entry]) == [
        "error [0](images).crop_style: 'middle' is not one of SimpleTuner's choices",
        "error [0](images).target_downsample_size: maximum_image_size needs target_downsample_size (SimpleTuner's "
        "start-up check)",
        "error [0](images).maximum_image_size: 256 is in pixels with resolution_type pixel and must be at least 512 "
        "(SimpleTuner's start-up check)",
    ]
