"""SimpleTuner's pass-through, in the shape of its two files: `config` (options of config.json, read by its strict
loader and argument parser) and `datasets` (keys added to the image dataset of multidatabackend.json). Each is
checked by the key knowledge the validator has (`keys.json`: option names and aliases, types, choices; the dataset
keys its config classes read)."""

from __future__ import annotations

from typing import Any

from fluxgen.backends.base import PassThrough

SECTIONS = {"config": "options of config.json (mapping)",
            "datasets": "keys of the image dataset in multidatabackend.json (mapping)"}
# config.json options fluxgen writes (files.config_dict) -> the intent key that sets them ("" when fluxgen does).
_CONFIG = {
    "model_family": "", "model_type": "", "lora_type": "", "pretrained_model_name_or_path": "model.base",
    "model_flavour": "model.base", "lora_rank": "network.rank", "lora_alpha": "network.alpha",
    "learning_rate": "train.lr", "lr_scheduler": "train.scheduler", "lr_warmup_steps": "train.warmup_steps",
    "optimizer": "train.optimizer", "optimizer_config": "train.optimizer_args", "max_train_steps": "train.steps",
    "num_train_epochs": "train.steps", "train_batch_size": "train.batch_size",
    "gradient_checkpointing": "train.gradient_checkpointing", "mixed_precision": "train.precision",
    "base_model_precision": "vram", "seed": "train.seed", "flux_guidance_value": "train.guidance",
    "caption_dropout_probability": "train.caption_dropout", "resolution": "train.resolution", "resolution_type": "",
    "checkpoint_step_interval": "save.every", "checkpoints_total_limit": "save.keep",
    "validation_prompt": "samples.prompts", "user_prompt_library": "samples.prompts",
    "validation_step_interval": "samples.every", "validation_num_inference_steps": "samples.steps",
    "validation_guidance": "samples.guidance", "validation_seed": "samples.seed",
    "validation_resolution": "samples.size", "data_backend_config": "", "output_dir": "", "cache_dir": "",
    "report_to": "logging", "logging_dir": "logging", "tracker_run_name": "name", "push_to_hub": "",
    "disable_benchmark": "", "resume_from_checkpoint": "", "modelspec_comment": "",
    "flow_use_uniform_schedule": "train.timestep_sampling", "train_text_encoder": "network.train_text_encoder",
    "lora_dropout": "network.dropout", "gradient_accumulation_steps": "train.gradient_accumulation",
    "use_ema": "train.ema", "ema_decay": "train.ema_decay", "validation_on_startup": "samples.first", "loss_type": "train.loss_type",
    "noise_offset": "train.noise_offset", "validation_negative_prompt": "samples.negative",
}
# Keys of the image dataset fluxgen writes (files.datasets_list); crop_aspect, crop_style and metadata_backend are
# left open: they only refine what fluxgen writes.
_DATASET = {
    "id": "", "type": "", "dataset_type": "", "instance_data_dir": "dataset.path",
    "caption_strategy": "dataset.captions", "caption_file_extensions": "dataset.caption_ext",
    "instance_prompt": "trigger", "resolution": "train.resolution", "resolution_type": "",
    "repeats": "dataset.repeats", "crop": "dataset.buckets", "cache_dir_vae": "",
    "caption_dropout_probability": "train.caption_dropout", "default": "",
}
MODELLED = {f"config.{k}": v for k, v in _CONFIG.items()} | {f"datasets.{k}": v for k, v in _DATASET.items()}
_CHECKED = {"unknown-key", "type", "choice", "list", "ignored", "abbreviation", "legacy", "size", "conflict"}


def canonical(key: str) -> str | None:
    """The option a config.json key sets, as SimpleTuner's parser resolves it (name, alias, legacy name or a unique
    prefix), or None when it sets none."""
    from fluxgen.backends.simple_tuner.options import RENAMED, option_strings

    name = key.lstrip("-")
    name = RENAMED.get(name, name)
    strings = option_strings()
    if name in strings:
        return strings[name]
    found = {strings[s] for s in strings if s.startswith(name)}
    return found.pop() if len(found) == 1 else None


def check(fragment: dict[str, Any]) -> list[tuple[str, str]]:
    """`config` through the replay of SimpleTuner's loader and parser, `datasets` through the dataset checks, each
    finding about the fragment's own keys; a key that reaches a modelled option by another name is refused too."""
    from fluxgen.backends.simple_tuner.datasets import check_datasets
    from fluxgen.backends.simple_tuner.options import resolve_tokens, tokens_of

    out: list[tuple[str, str]] = []
    config = fragment.get("config") or {}
    tokens, found = tokens_of(config)
    found += resolve_tokens(tokens)[1]
    out += [(f"config.{f.path}", _message(f)) for f in found
            if f.rule in _CHECKED and f.severity in ("error", "warning") and f.path in config]
    for key in config:
        name = canonical(str(key))
        if name and name != key and f"config.{name}" in MODELLED:
            intent_key = MODELLED[f"config.{name}"]
            fix = f"set {intent_key} in the intent instead" if intent_key else \
                "fluxgen writes it from the plan; it cannot be overridden here"
            out.append((f"config.{key}", f"sets '{name}', a modelled setting: {fix}"))
    datasets = fragment.get("datasets") or {}
    if datasets:
        entry = {"id": "images", "type": "local", **datasets}
        for f in check_datasets([entry]):
            key = f.path.removeprefix("[0](images).")
            if f.severity in ("error", "warning") and key in datasets:
                out.append((f"datasets.{key}", _message(f)))
    return out


def _message(finding: Any) -> str:
    return finding.message + (f" ({finding.fix})" if finding.fix else "")


def merged_config(config: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """config.json with the pass-through's options last."""
    return {**config, **(fragment.get("config") or {})}


def merged_datasets(datasets: list[dict[str, Any]], fragment: dict[str, Any]) -> list[dict[str, Any]]:
    """Every image dataset (one per folder and resolution) with the pass-through's keys last; the text-embed cache
    as it is."""
    extra = fragment.get("datasets") or {}
    return [d if d.get("dataset_type") == "text_embeds" else {**d, **extra} for d in datasets]


def json_schema() -> dict[str, Any]:
    """SimpleTuner's options with types and choices, and its dataset keys (for editors)."""
    from fluxgen.backends.simple_tuner.keys import KEYS
    from fluxgen.schema import object_schema

    types = {"int": "integer", "float": "number", "bool": "boolean"}
    options = {}
    for name, opt in KEYS["options"].items():
        if f"config.{name}" in MODELLED:
            continue
        one: dict[str, Any] = {"type": types.get(opt["type"], "string")}
        if opt["choices"]:
            one["enum"] = list(opt["choices"])
        options[name] = one
    dataset = {k: {} for k in KEYS["dataset"]["keys"] if f"datasets.{k}" not in MODELLED}
    return object_schema({"config": object_schema(options, SECTIONS["config"]),
                          "datasets": object_schema(dataset, SECTIONS["datasets"])},
                         "simpletuner: config.json options and dataset keys, merged into its files last")


PASSTHROUGH = PassThrough(SECTIONS, MODELLED, check, schema=json_schema)
