"""ai-toolkit's pass-through: keys of the `sd_trainer` process (config.process[0]), checked by the validator's key
knowledge. A mapping under a section the template writes (train, network…) adds keys to that section; `datasets`
adds its keys to every dataset entry; any other process key (logging, first_sample…) is added to the process."""

from __future__ import annotations

from typing import Any

from fluxgen.backends.base import PassThrough

SECTIONS = {
    "network": "config.process[0].network (mapping)",
    "save": "config.process[0].save (mapping)",
    "datasets": "every entry of config.process[0].datasets (mapping)",
    "train": "config.process[0].train (mapping)",
    "model": "config.process[0].model (mapping)",
    "sample": "config.process[0].sample (mapping)",
    "logging": "config.process[0].logging (mapping)",
}
RENDERED_SECTIONS = ("network", "save", "datasets", "train", "model", "sample")  # the template's own sections
# Keys the template writes: section.key -> the intent key that sets it ("" when fluxgen sets it itself).
MODELLED = {
    "type": "", "training_folder": "", "log_dir": "logging", "logging.use_wandb": "logging", "training_seed": "train.seed", "trigger_word": "trigger",
    "network.type": "", "network.linear": "network.rank", "network.linear_alpha": "network.alpha",
    "network.dropout": "network.dropout", "network.network_kwargs.only_if_contains": "network.blocks",
    "network.network_kwargs.ignore_if_contains": "network.blocks", "train.text_encoder_lr": "train.text_encoder_lr",
    "save.dtype": "train.precision", "save.save_every": "save.every", "save.max_step_saves_to_keep": "save.keep",
    "datasets.folder_path": "dataset.path", "datasets.caption_ext": "dataset.caption_ext",
    "datasets.default_caption": "dataset.captions", "datasets.caption_dropout_rate": "train.caption_dropout",
    "datasets.shuffle_tokens": "train.shuffle_captions", "datasets.num_repeats": "dataset.repeats",
    "datasets.num_workers": "train.workers",
    "datasets.cache_latents_to_disk": "", "datasets.buckets": "dataset.buckets",
    "datasets.resolution": "train.resolution", "datasets.mask_path": "dataset.masks",
    "datasets.is_reg": "datasets[].is_reg",
    "train.batch_size": "train.batch_size", "train.steps": "train.steps", "train.gradient_accumulation": "train.gradient_accumulation",
    "train.train_unet": "", "train.skip_first_sample": "samples.first",
    "train.force_first_sample": "samples.first", "train.train_text_encoder": "network.train_text_encoder",
    "train.gradient_checkpointing": "train.gradient_checkpointing", "train.noise_scheduler": "",
    "train.timestep_type": "train.timestep_sampling", "train.content_or_style": "train.timestep_sampling",
    "train.optimizer": "train.optimizer", "train.optimizer_params": "train.optimizer_args", "train.lr": "train.lr",
    "train.lr_scheduler": "train.scheduler", "train.lr_scheduler_params": "train.warmup_steps",
    "train.dtype": "train.precision", "train.ema_config": "train.ema",
    "model.name_or_path": "model.base", "model.is_flux": "", "model.quantize": "vram",
    "model.low_vram": "vram", "model.quantize_te": "vram", "train.noise_offset": "train.noise_offset",
    "train.loss_type": "train.loss_type", "sample.samples": "samples.prompts", "sample.neg": "samples.negative", "model.assistant_lora_path": "model.base",
    "sample.sampler": "", "sample.sample_every": "samples.every", "sample.width": "samples.size",
    "sample.height": "samples.size", "sample.prompts": "samples.prompts",
    "sample.seed": "samples.seed", "sample.walk_seed": "", "sample.guidance_scale": "samples.guidance",
    "sample.sample_steps": "samples.steps",
}
_CHECKED = {"aitk-unknown-key", "aitk-type", "aitk-choice"}
_PROCESS = "config.process[0]."


def check(fragment: dict[str, Any]) -> list[tuple[str, str]]:
    """The fragment inside a minimal job, through the validator; only findings about the fragment's own keys."""
    from fluxgen.backends.ai_toolkit.validator import validate_ai_toolkit

    process = {"type": "sd_trainer", **{k: v for k, v in fragment.items() if k != "datasets"}}
    if "datasets" in fragment:
        process["datasets"] = [fragment["datasets"]]
    doc = {"job": "extension", "config": {"name": "passthrough", "process": [process]}}
    out = []
    for finding in validate_ai_toolkit(doc).findings:
        if finding.rule in _CHECKED and finding.severity in ("error", "warning") and finding.path.startswith(_PROCESS):
            path = finding.path[len(_PROCESS):].replace("datasets[0]", "datasets")
            out.append((path, finding.message + (f" ({finding.fix})" if finding.fix else "")))
    return out


def merge_lines(fragment: dict[str, Any], section: str | None, indent: int) -> list[str]:
    """YAML lines adding the fragment's keys to one rendered section (None: the process's own keys)."""
    from fluxgen.render import yaml_value

    pad = " " * indent
    if section is not None:
        items = fragment.get(section) or {}
    else:
        items = {k: v for k, v in fragment.items() if k not in RENDERED_SECTIONS}
    return [f"{pad}{yaml_value(str(k))}: {yaml_value(v)}" for k, v in items.items()]



def json_schema() -> dict[str, Any]:
    """The process keys ai-toolkit reads, each section's keys with their types (for editors)."""
    from fluxgen.knowledge import ai_toolkit_schema
    from fluxgen.schema import keyspec_schema, object_schema

    schema = ai_toolkit_schema()
    props = {k: keyspec_schema(spec.types) for k, spec in schema.process.items() if k not in MODELLED}
    for name, section in (("network", "network"), ("save", "save"), ("datasets", "datasets[]"), ("train", "train"),
                          ("model", "model"), ("sample", "sample"), ("logging", "logging"),
                          ("first_sample", "first_sample"), ("guidance", "guidance")):
        keys = {k: keyspec_schema(spec.types) for k, spec in schema.sections[section].items()
                if f"{name}.{k}" not in MODELLED}
        props[name] = object_schema(keys, SECTIONS.get(name, f"config.process[0].{name}"))
    return object_schema(props, "ai-toolkit: keys of the sd_trainer process, merged into config.yaml last")


PASSTHROUGH = PassThrough(SECTIONS, MODELLED, check, open_sections=True, schema=json_schema)
