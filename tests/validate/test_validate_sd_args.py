"""sd-scripts args TOML: names, un-converted types, choices, key=value lists and every conflict rule."""

from __future__ import annotations

import pytest

from fluxgen.validate import validate_sd_args


def test_clean_args_have_no_findings(sd) -> None:
    assert validate_sd_args(sd(), "args.toml").findings == []


def test_sections_are_flattened_and_later_duplicates_win(sd, expect) -> None:
    data = {"model": sd(), "other": {"network_dim": 32}}
    report = validate_sd_args(data, "args.toml")
    expect(report, "warning", "other.network_dim", r"also set at model.network_dim; this later one wins")
    assert report.ok


@pytest.mark.parametrize(("key", "value", "severity", "match"), [
    ("network_dim", "16", "error", r"is a string \('16'\); sd-scripts does not convert TOML values"),
    ("network_dim", 16.0, "error", "needs an int"),
    ("learning_rate", "1e-4", "error", "needs a number"),
    ("learning_rate", 1, "info", r"is an int \(1\); fine for Python"),
    ("network_dim", True, "warning", "Python treats it as 1"),
    ("gradient_checkpointing", "true", "error", "this flag takes true or false"),
    ("network_args", "train_blocks=single", "error", "takes a list"),
    ("text_encoder_lr", [1e-5, "x"], "error", "needs a number"),
    ("resolution", 1024, "error", "reads a string here"),
])
def test_types_are_not_converted(sd, expect, key, value, severity, match) -> None:
    path = f"{key}[1]" if isinstance(value, list) else key
    expect(validate_sd_args(sd({key: value}), "args.toml"), severity, path, match)


def test_int_or_float_accepts_ints_floats_and_percent(sd) -> None:
    for value in (50, 0.1, "10%"):
        assert validate_sd_args(sd({"lr_warmup_steps": value}), "a").findings == []


def test_unknown_keys(sd, expect) -> None:
    report = validate_sd_args(sd({"netwrok_dim": 8, "flux_train_t_exponent": 7.0}), "args.toml")
    expect(report, "error", "netwrok_dim", r"no such option \(did you mean 'network_dim'\?\)")
    expect(report, "error", "flux_train_t_exponent", "no such option")
    t_exp = next(f for f in report.findings if f.path == "flux_train_t_exponent")
    assert "--timestep_sampling" in t_exp.fix


def test_nested_table_is_not_flattened(sd, expect) -> None:
    data = {"training": {**sd(), "nested": {"deep": 1}}}
    expect(validate_sd_args(data, "args.toml"), "error", "training.nested", "nested two levels deep")


@pytest.mark.parametrize(("key", "value", "match"), [
    ("mixed_precision", "fp17", r"invalid choice 'fp17' \(choose from 'no', 'fp16', 'bf16'\)"),
    ("mixed_precision", "BF16", "invalid choice"),
    ("timestep_sampling", "logit", "invalid choice"),
    ("model_prediction_type", "sigma", "invalid choice"),
    ("save_precision", "None", "invalid choice"),
    ("optimizer_type", "adamw8bt", r"unknown optimizer 'adamw8bt' \(did you mean 'AdamW8bit'\?\)"),
    ("lr_scheduler", "cosine_restarts", r"unknown scheduler 'cosine_restarts' \(did you mean"),
])
def test_choices(sd, expect, key, value, match) -> None:
    expect(validate_sd_args(sd({key: value}), "args.toml"), "error", key, match)


def test_choice_fix_names_the_right_case(sd) -> None:
    report = validate_sd_args(sd({"mixed_precision": "BF16"}), "a")
    assert report.errors[0].fix == "write 'bf16' (choices are case-sensitive)"


@pytest.mark.parametrize("name", ["AdamW8bit", "adafactor", "PRODIGY", "SGD", "bitsandbytes.optim.AdEMAMix8bit"])
def test_optimizer_names_accepted(sd, name) -> None:
    assert validate_sd_args(sd({"optimizer_type": name}), "a").ok


@pytest.mark.parametrize(("items", "severity", "match"), [
    (["train_blocks"], "error", "has no '='"),
    (["train_blocks=singel"], "error", "must be one of all, single, double"),
    (["train_t5xxl=true"], "warning", "only the exact string True"),
    (["split_qkv=True", "img_attn_dim=x"], "error", "img_attn_dim=x: is not an int"),
    (["in_dims=[4,2,2]"], "error", "list of 5 ints"),
    (["train_double_block_indices=0,1,x"], "error", "block indices"),
    (["network_reg_lrs=single_blocks"], "error", "regex=value pairs"),
    (["rank_dropout=abc"], "error", "is not a number"),
    (["trian_blocks=all"], "warning", r"does not read 'trian_blocks' \(did you mean 'train_blocks'\?\)"),
])
def test_network_args(sd, expect, items, severity, match) -> None:
    expect(validate_sd_args(sd({"network_args": items}), "args.toml"), severity, "network_args", match)


def test_valid_network_args(sd) -> None:
    items = ["train_blocks=single", "split_qkv=True", "in_dims=[4,2,2,2,4]", "train_single_block_indices=0,1,8-12",
             "loraplus_lr_ratio=4", "network_reg_dims=single.*=8,double.*=16"]
    assert validate_sd_args(sd({"network_args": items}), "a").findings == []


@pytest.mark.parametrize(("items", "match"), [
    (["relative_step=False scale_parameter=False"], "must hold exactly one '='"),
    (["relative_step"], "must hold exactly one '='"),
    (["betas=(0.9"], "not a Python literal"),
    (["decouple=yes"], "not a Python literal"),
])
def test_optimizer_args(sd, expect, items, match) -> None:
    expect(validate_sd_args(sd({"optimizer_args": items}), "args.toml"), "error", "optimizer_args", match)


def test_valid_optimizer_args(sd) -> None:
    items = ["relative_step=False", "weight_decay=0.01", "betas=0.9,0.999", "foo='bar'"]
    assert validate_sd_args(sd({"optimizer_args": items}), "a").findings == []


TE = {"cache_text_encoder_outputs": True}


@pytest.mark.parametrize(("changes", "severity", "path", "match"), [
    ({**TE, "shuffle_caption": True}, "error", "shuffle_caption", "while caching text encoder outputs"),
    ({**TE, "caption_dropout_rate": 0.1}, "error", "caption_dropout_rate", "while caching text encoder outputs"),
    ({**TE, "network_args": ["train_t5xxl=True"]}, "error", "network_args", "trains T5"),
    ({"cache_text_encoder_outputs_to_disk": True}, "info", "cache_text_encoder_outputs_to_disk",
     "switches --cache_text_encoder_outputs on"),
    ({"cache_latents_to_disk": True}, "info", "cache_latents_to_disk", "switches --cache_latents on"),
    ({**TE, "network_train_unet_only": False}, "info", "cache_text_encoder_outputs", "CLIP-L is trained"),
    ({"cache_latents": True, "color_aug": True}, "error", "color_aug", "while caching latents"),
    ({"cache_latents": True, "random_crop": True}, "error", "random_crop", "while caching latents"),
    ({"blocks_to_swap": 18, "cpu_offload_checkpointing": True}, "error", "cpu_offload_checkpointing",
     "cannot be combined with --blocks_to_swap"),
    ({"blocks_to_swap": 36}, "error", "blocks_to_swap", "more than FLUX.1 can swap"),
    ({"split_mode": True}, "warning", "split_mode", "deprecated; turned into --blocks_to_swap 18"),
    ({"split_mode": True, "blocks_to_swap": 10}, "warning", "split_mode", "ignored because --blocks_to_swap"),
    ({"fp8_base": True, "mixed_precision": "no"}, "error", "fp8_base", "needs --mixed_precision fp16 or bf16"),
    ({"fp8_base_unet": True, "mixed_precision": "no"}, "error", "fp8_base_unet", "needs --mixed_precision"),
    ({"full_fp16": True}, "error", "full_fp16", "needs --mixed_precision fp16"),
    ({"full_bf16": True, "mixed_precision": "fp16"}, "error", "full_bf16", "needs --mixed_precision bf16"),
    ({"model_type": "chroma"}, "error", "model_type", "needs --apply_t5_attn_mask"),
    ({"use_8bit_adam": True}, "error", "use_8bit_adam", "cannot be combined with --optimizer_type"),
    ({"use_lion_optimizer": True}, "error", "use_lion_optimizer", "cannot be combined with --optimizer_type"),
    ({"fused_backward_pass": True}, "error", "fused_backward_pass", "only with Adafactor"),
    ({"adaptive_noise_scale": 0.1}, "error", "adaptive_noise_scale", "needs --noise_offset"),
    ({"log_with": "tensorboard"}, "error", "log_with", "needs --logging_dir"),
    ({"train_data_dir": "imgs"}, "warning", "train_data_dir", "ignored because --dataset_config is given"),
    ({"max_token_length": 225}, "warning", "max_token_length", "not used when training FLUX"),
    ({"sample_sampler": "euler"}, "warning", "sample_sampler", "not used when training FLUX"),
    ({"sdpa": True}, "info", "sdpa", "not used when training FLUX"),
    ({"noise_offset": 0.05}, "warning", "noise_offset", r"not used when training FLUX: .*flux_train_network\.py:327"),
    ({"multires_noise_iterations": 6}, "warning", "multires_noise_iterations", "not used when training FLUX"),
    ({"sample_every_n_steps": 0}, "warning", "sample_every_n_steps", "turns sampling off"),
    ({"initial_step": 1000}, "error", "initial_step", r"not below --max_train_steps \(1000\)"),
    ({"enable_bucket": True, "bucket_reso_steps": 32}, "error", "bucket_reso_steps", "not a multiple of 64"),
])
def test_conflict_rules(sd, expect, changes, severity, path, match) -> None:
    expect(validate_sd_args(sd(changes), "args.toml"), severity, path, match)


def test_fused_backward_pass_with_adafactor_is_fine(sd) -> None:
    assert validate_sd_args(sd({"fused_backward_pass": True, "optimizer_type": "adafactor"}), "a").ok


@pytest.mark.parametrize(("missing", "severity", "path", "match"), [
    ("network_module", "error", "network_module", "no LoRA module"),
    ("pretrained_model_name_or_path", "error", "pretrained_model_name_or_path", "checkpoint is required"),
    ("clip_l", "warning", "clip_l", "loads this model file"),
    ("dataset_config", "error", "dataset_config", "there are no images"),
    ("network_train_unet_only", "warning", "network_train_unet_only", "a CLIP-L LoRA is trained too"),
    ("guidance_scale", "warning", "guidance_scale", r"default guidance 3\.5.*seed:000.*1\.0"),
    ("learning_rate", "warning", "learning_rate", "default 2e-06"),
    ("mixed_precision", "info", "mixed_precision", "training runs in fp32"),
    ("max_train_steps", "info", "max_train_steps", "1600 steps"),
    ("network_dim", "info", "network_dim", "falls back to 4"),
])
def test_what_is_missing(sd, expect, delete, missing, severity, path, match) -> None:
    expect(validate_sd_args(sd({missing: delete}), "args.toml"), severity, path, match)


def test_other_network_module_and_schnell(sd, expect, delete) -> None:
    report = validate_sd_args(sd({"network_module": "networks.lora"}), "a")
    expect(report, "warning", "network_module", "not the FLUX LoRA module")
    schnell = sd({"guidance_scale": delete, "pretrained_model_name_or_path": "flux1-schnell.safetensors"})
    assert not [f for f in validate_sd_args(schnell, "a").findings if f.rule == "sd-guidance"]


def test_ss_in_sample_prompts_is_ignored_for_flux(sd, expect, tmp_path) -> None:
    (tmp_path / "prompts.txt").write_text("a cat --w 512 --ss euler_a\na dog --s 20\n", encoding="utf-8")
    report = validate_sd_args(sd({"sample_prompts": "prompts.txt"}), "args.toml", base_dir=tmp_path)
    expect(report, "warning", "sample_prompts:1", "--ss is ignored when FLUX samples")
    assert len(report.warnings) == 1
