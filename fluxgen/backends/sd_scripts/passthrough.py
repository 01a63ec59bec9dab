"""sd-scripts' pass-through: `args` (options of flux_train_network.py, written as one more table of args.toml,
which sd-scripts flattens) and `dataset` (keys of dataset.toml's [general], which every dataset and subset
inherits), each checked by the validators' knowledge of what sd-scripts reads."""

from __future__ import annotations

import re
from typing import Any

from fluxgen.backends.base import PassThrough

SECTIONS = {"args": "options of flux_train_network.py in args.toml (mapping)",
            "dataset": "[general] of dataset.toml, inherited by every dataset and subset (mapping)"}
TABLE = "passthrough"  # the args.toml table the options are written in
_ARGS = {
    "pretrained_model_name_or_path": "model.base", "clip_l": "model.clip_l", "t5xxl": "model.t5xxl", "ae": "model.ae",
    "fp8_base": "vram", "blocks_to_swap": "vram", "dataset_config": "", "max_data_loader_n_workers": "train.workers",
    "persistent_data_loader_workers": "train.workers", "cache_latents": "", "cache_latents_to_disk": "",
    "masked_loss": "dataset.masks", "cache_text_encoder_outputs": "train.caption_dropout",
    "cache_text_encoder_outputs_to_disk": "train.caption_dropout", "network_module": "",
    "network_dim": "network.rank", "network_alpha": "network.alpha", "log_with": "logging", "logging_dir": "logging", "network_dropout": "network.dropout", "noise_offset": "train.noise_offset", "loss_type": "train.loss_type", "highvram": "vram",
    "text_encoder_lr": "train.text_encoder_lr", "gradient_accumulation_steps": "train.gradient_accumulation",
    "network_train_unet_only": "network.train_text_encoder", "optimizer_type": "train.optimizer",
    "optimizer_args": "train.optimizer_args", "learning_rate": "train.lr", "lr_scheduler": "train.scheduler",
    "lr_warmup_steps": "train.warmup_steps", "max_grad_norm": "", "max_train_steps": "train.steps",
    "seed": "train.seed", "mixed_precision": "train.precision", "save_precision": "train.precision",
    "gradient_checkpointing": "train.gradient_checkpointing", "guidance_scale": "train.guidance",
    "timestep_sampling": "train.timestep_sampling", "discrete_flow_shift": "train.timestep_sampling",
    "model_prediction_type": "train.timestep_sampling", "output_dir": "", "output_name": "name",
    "save_model_as": "", "save_every_n_steps": "save.every", "save_last_n_steps": "save.keep", "save_state": "",
    "save_last_n_steps_state": "", "sample_prompts": "samples.prompts", "sample_every_n_steps": "samples.every", "sample_at_first": "samples.first",
    "metadata_title": "name", "metadata_trigger_phrase": "trigger", "training_comment": "",
}
_DATASET = {
    "caption_extension": "dataset.caption_ext", "shuffle_caption": "train.shuffle_captions", "keep_tokens": "",
    "resolution": "train.resolution", "batch_size": "train.batch_size", "enable_bucket": "dataset.buckets",
    "bucket_no_upscale": "", "min_bucket_reso": "", "max_bucket_reso": "", "bucket_reso_steps": "",
    "image_dir": "dataset.path", "num_repeats": "dataset.repeats", "conditioning_data_dir": "dataset.masks",
    "class_tokens": "trigger", "caption_dropout_rate": "train.caption_dropout", "is_reg": "datasets[].is_reg",
}
MODELLED = {f"args.{k}": v for k, v in _ARGS.items()} | {f"dataset.{k}": v for k, v in _DATASET.items()}
_ARG_CODES = {"sd-unknown-option", "sd-type", "sd-choice", "sd-optimizer", "sd-scheduler", "sd-network-args",
              "sd-optimizer-args", "sd-nested-table"}
_DATASET_CODES = {"sd-dataset-unknown-key", "sd-dataset-type"}
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def check(fragment: dict[str, Any]) -> list[tuple[str, str]]:
    """Each section through its validator; only the findings about the fragment's own keys."""
    from fluxgen.backends.sd_scripts.dataset_toml import validate_sd_dataset
    from fluxgen.backends.sd_scripts.validator import validate_sd_args

    out = [(f"{section}.{key}", "is null, which TOML cannot hold; leave the key out for the trainer's default")
           for section in ("args", "dataset") for key, value in (fragment.get(section) or {}).items()
           if value is None or (isinstance(value, list) and None in value)]
    args = fragment.get("args") or {}
    items = args.get("network_args") if isinstance(args.get("network_args"), list) else []
    out += [("args.network_args", "train_blocks is a modelled setting: set network.blocks in the intent instead")
            for item in items if isinstance(item, str) and item.replace(" ", "").startswith("train_blocks=")]
    for f in validate_sd_args({TABLE: args}).findings:
        name = f.path.removeprefix(f"{TABLE}.").split(".")[0].split("[")[0]
        if f.rule in _ARG_CODES and f.severity in ("error", "warning") and name in args:
            out.append((f"args.{f.path.removeprefix(TABLE + '.')}", _message(f)))
    dataset = fragment.get("dataset") or {}
    doc = {"general": dataset, "datasets": [{"subsets": [{"image_dir": "images"}]}]}
    for f in validate_sd_dataset(doc).findings:
        if f.rule in _DATASET_CODES and f.path.startswith("general."):
            out.append((f"dataset.{f.path.removeprefix('general.')}", _message(f)))
    return out


def _message(finding: Any) -> str:
    return finding.message + (f" ({finding.fix})" if finding.fix else "")


def toml_lines(items: dict[str, Any]) -> list[str]:
    """`key = value` lines, each value written so both TOML readers sd-scripts may use read it back."""
    from fluxgen.errors import UserError
    from fluxgen.render import toml_value

    try:
        return [f"{k if _BARE.match(k) else toml_value(k)} = {toml_value(v)}" for k, v in items.items()]
    except TypeError as exc:
        raise UserError(f"trainer.sd-scripts: {exc}; sd-scripts reads flat values and lists there") from None





def json_schema() -> dict[str, Any]:
    """flux_train_network.py's options and dataset.toml's keys, with types and choices (for editors)."""
    from fluxgen.knowledge import sd_scripts_args, sd_scripts_dataset_schema
    from fluxgen.schema import object_schema

    types = {"str": "string", "int": "integer", "float": "number", "int_or_float": "number", "flag": "boolean"}
    args = {}
    for name, spec in sd_scripts_args().items():
        if f"args.{name}" in MODELLED:
            continue
        one: dict[str, Any] = {"type": types.get(spec.type, "string")}
        if spec.choices:
            one["enum"] = list(spec.choices)
        args[name] = {"type": "array", "items": one} if spec.nargs in ("*", "+") else one
    ds_types = {"str": "string", "bool": "boolean", "int": "integer", "float": "number", "dict": "object",
                "list": "array"}
    dataset = {name: {"type": sorted({ds_types.get(t, "array") for t in key.types})}
               for name, key in sd_scripts_dataset_schema().keys.items() if f"dataset.{name}" not in MODELLED}
    return object_schema({"args": object_schema(args, SECTIONS["args"]),
                          "dataset": object_schema(dataset, SECTIONS["dataset"])},
                         "sd-scripts: options and dataset keys, merged into args.toml and dataset.toml last")
PASSTHROUGH = PassThrough(SECTIONS, MODELLED, check, schema=json_schema)
