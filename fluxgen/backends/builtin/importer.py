"""The builtin trainer's train.yaml as a fluxgen intent (the inverse of `templates/builtin/train.yaml.j2`). The
file is read by the trainer's own schema, so a key it leaves out counts with the trainer's default."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.importer import Imported, Where, display, yaml_lines
from fluxgen.importer.common import absolute_folder, base_from_hub_id, flat, kind_from_meta, untrigger

NAME = "builtin"
# train.yaml key -> intent key, for values that pass through unchanged.
DIRECT = {
    "dataset.caption_mode": "dataset.captions", "dataset.trigger": "trigger",
    "dataset.caption_dropout": "train.caption_dropout", "network.rank": "network.rank",
    "network.alpha": "network.alpha", "train.steps": "train.steps", "train.batch_size": "train.batch_size",
    "train.lr": "train.lr", "train.optimizer": "train.optimizer", "train.lr_scheduler": "train.scheduler",
    "train.warmup_steps": "train.warmup_steps", "train.gradient_checkpointing": "train.gradient_checkpointing",
    "train.guidance": "train.guidance", "train.timestep_sampling": "train.timestep_sampling",
    "train.seed": "train.seed", "save.name": "name", "save.every": "save.every", "save.keep_last": "save.keep",
    "sample.every": "samples.every", "sample.prompts": "samples.prompts", "sample.seed": "samples.seed",
    "sample.steps": "samples.steps", "sample.guidance": "samples.guidance", "sample.size": "samples.size",
}
HANDLED = {"model.path", "model.dtype", "dataset.folder", "dataset.caption_ext", "dataset.resolution",
           "save.output_dir", "train.noise_offset", "train.loss_type"}


def import_config(paths: Sequence[Path], *, command: str | None = None) -> Imported:
    """Every key of train.yaml to the intent key that renders it; other keys listed as left out."""
    from fluxgen.fsio import load_yaml_text, read_text_file
    from fluxgen.trainer.config import parse_config

    if command is not None or len(paths) != 1:
        raise UserError("builtin: import one train.yaml (no --command; that is for sd-scripts command lines)")
    path = paths[0]
    text = read_text_file(path)
    src = display(path)
    data = load_yaml_text(text, src)
    if not isinstance(data, dict):
        raise UserError(f"{src}: a builtin train.yaml is a YAML mapping")
    config = parse_config(data, src).model_dump()
    lines, given = yaml_lines(text), flat({k: v for k, v in data.items() if k != "metadata"}, lists=False)
    out = Imported(NAME, [src])

    def origin(key: str) -> Where | str:
        return Where(src, lines.get(key, 0), key) if key in given else f"{key} absent from {src}: the trainer's default"

    for key, intent_key in DIRECT.items():
        value = _at(config, key)
        if value is not None:
            out.set(intent_key, value, origin(key))
    _special(out, config, origin, path.parent)
    kind = kind_from_meta(data.get("metadata") or {})
    if kind:
        out.set("kind", kind, Where(src, lines.get("metadata.fluxgen.kind", 0), "metadata.fluxgen.kind"))
    _leftovers(out, given, src, lines)
    untrigger(out)
    return out


def _at(config: dict[str, Any], dotted: str) -> Any:
    section, key = dotted.split(".")
    return config[section][key]


def _special(out: Imported, config: dict[str, Any], origin: Any, folder: Path) -> None:
    out.set("model.base", base_from_hub_id(config["model"]["path"], folder), origin("model.path"))
    if config["model"]["dtype"] != "auto":
        out.set("train.precision", config["model"]["dtype"], origin("model.dtype"))
    out.set("dataset.path", absolute_folder(config["dataset"]["folder"], folder, out), origin("dataset.folder"))
    out.set("dataset.caption_ext", "." + config["dataset"]["caption_ext"].lstrip("."), origin("dataset.caption_ext"))
    out.set("train.resolution", [config["dataset"]["resolution"]], origin("dataset.resolution"))
    for key in ("train.noise_offset", "train.loss_type"):  # planned only when given: written only when set
        if not isinstance(origin(key), str):
            out.set(key, _at(config, key), origin(key))


def _leftovers(out: Imported, given: dict[str, Any], src: str, lines: dict[str, int]) -> None:
    """Keys fluxgen does not write, carried when the file sets them to something other than the trainer's default."""
    from fluxgen.trainer.config import TrainerConfig

    for key, value in given.items():
        if key in DIRECT or (key in HANDLED and key != "save.output_dir"):
            continue
        section, _, leaf = key.partition(".")
        model = TrainerConfig.model_fields[section].annotation if section in TrainerConfig.model_fields else None
        spec = getattr(model, "model_fields", {}).get(leaf)
        default = "output" if key == "save.output_dir" else getattr(spec, "default", object())
        if value == default:
            continue
        if key == "save.output_dir":
            out.leave_out(Where(src, lines.get(key, 0), key), value, "fluxgen writes into the run folder's output/")
        else:  # the pass-through's section of train.yaml; it refuses what fluxgen writes itself
            out.carry(Where(src, lines.get(key, 0), key), key, value)
