"""The builtin trainer's pass-through: keys of train.yaml's sections that no intent key sets (weight_decay,
max_grad_norm, sigmoid_scale…), checked by the trainer's own strict schema."""

from __future__ import annotations

from typing import Any

from fluxgen.backends.base import PassThrough

SECTIONS = {name: f"train.yaml {name}: (mapping)" for name in ("model", "dataset", "network", "train", "save",
                                                                  "sample")}
MODELLED = {
    "model.path": "model.base", "model.dtype": "train.precision", "dataset.folder": "dataset.path",
    "dataset.caption_ext": "dataset.caption_ext", "dataset.caption_mode": "dataset.captions",
    "dataset.trigger": "trigger", "dataset.resolution": "train.resolution",
    "dataset.caption_dropout": "train.caption_dropout", "dataset.mask_folder": "dataset.masks",
    "network.rank": "network.rank", "network.alpha": "network.alpha", "train.steps": "train.steps",
    "train.batch_size": "train.batch_size", "train.lr": "train.lr", "train.optimizer": "train.optimizer",
    "train.lr_scheduler": "train.scheduler", "train.warmup_steps": "train.warmup_steps",
    "train.gradient_checkpointing": "train.gradient_checkpointing", "train.guidance": "train.guidance",
    "train.timestep_sampling": "train.timestep_sampling", "train.seed": "train.seed", "train.noise_offset": "train.noise_offset", "train.loss_type": "train.loss_type", "save.output_dir": "",
    "save.name": "name", "save.every": "save.every", "save.keep_last": "save.keep", "save.format": "save.format",
    "sample.every": "samples.every", "sample.prompts": "samples.prompts", "sample.seed": "samples.seed",
    "sample.steps": "samples.steps", "sample.guidance": "samples.guidance", "sample.size": "samples.size",
}


def check(fragment: dict[str, Any]) -> list[tuple[str, str]]:
    """Each section through the trainer's own section model; a required key the fragment leaves out is not its
    business (the rendered file has it)."""
    from pydantic import ValidationError

    from fluxgen.pydantic_errors import format_error
    from fluxgen.trainer.config import ERROR_STYLE, TrainerConfig

    out = []
    for name, values in fragment.items():
        model = TrainerConfig.model_fields[name].annotation
        try:
            model.model_validate(values)
        except ValidationError as exc:
            for err in exc.errors():
                if err["type"] != "missing":
                    path, _, message = format_error({**err, "loc": (name, *err["loc"])}, ERROR_STYLE).partition(": ")
                    out.append((path, message))
    return out


def merge_lines(fragment: dict[str, Any], section: str) -> list[str]:
    from fluxgen.render import yaml_value

    return [f"  {yaml_value(str(k))}: {yaml_value(v)}" for k, v in (fragment.get(section) or {}).items()]





def json_schema() -> dict[str, Any]:
    """The trainer's own section models, less the keys the intent sets."""
    from fluxgen.schema import object_schema
    from fluxgen.trainer.config import TrainerConfig

    props = {}
    for name in SECTIONS:
        section = TrainerConfig.model_fields[name].annotation.model_json_schema()
        keys = {k: v for k, v in section.get("properties", {}).items() if f"{name}.{k}" not in MODELLED}
        props[name] = object_schema(keys, SECTIONS[name])
    return object_schema(props, "builtin: keys of train.yaml's sections, merged last")
PASSTHROUGH = PassThrough(SECTIONS, MODELLED, check, schema=json_schema)
