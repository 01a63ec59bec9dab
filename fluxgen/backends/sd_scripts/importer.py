"""sd-scripts' files as a fluxgen intent: the args TOML (`--config_file`) or a command line, the dataset TOML it
names and its sample prompts — the inverse of `templates/sd-scripts/*.j2` and the rules behind them. An option
the file leaves out counts with flux_train_network.py's own default (read from its source at the pin)."""

from __future__ import annotations

import ast
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxgen.backends.sd_scripts.planning import LOSSES
from fluxgen.errors import UserError
from fluxgen.importer import Imported, Where, display, toml_lines
from fluxgen.importer.common import kind_from_comment, untrigger

NAME = "sd-scripts"
# Options whose value is an intent value as it stands: option -> intent key.
DIRECT = {
    "network_dim": "network.rank", "max_train_steps": "train.steps", "learning_rate": "train.lr",
    "lr_scheduler": "train.scheduler", "lr_warmup_steps": "train.warmup_steps", "optimizer_type": "train.optimizer",
    "seed": "train.seed", "timestep_sampling": "train.timestep_sampling",
    "gradient_checkpointing": "train.gradient_checkpointing", "max_data_loader_n_workers": "train.workers",
    "save_every_n_steps": "save.every", "output_name": "name",
    "log_with": "logging",
}
# Options fluxgen plans only when given: imported only when they differ from sd-scripts' default.
UNLESS_DEFAULT = {"gradient_accumulation_steps": ("train.gradient_accumulation", 1),
                  "sample_at_first": ("samples.first", False)}
FLOATS = {"network_alpha": "network.alpha", "guidance_scale": "train.guidance", "network_dropout": "network.dropout"}
ABSENT = {"network_dim": 4, "optimizer_type": "AdamW"}  # what sd-scripts uses when the option is empty
PRECISION = {"bf16": "bf16", "fp16": "fp16", "no": "fp32"}
# What fluxgen always writes (templates/sd-scripts/args.toml.j2, sd_scripts/planning.py).
FIXED = {
    "network_module": "networks.lora_flux", "cache_latents": True, "cache_latents_to_disk": True,
    "model_prediction_type": "raw", "save_model_as": "safetensors", "save_state": True,
}
CONSUMED = {"dataset_config", "sample_prompts", "config_file", "metadata_title", "training_comment", "fp8_base",
            "blocks_to_swap", "max_grad_norm", "mixed_precision", "network_train_unet_only", "optimizer_args",
            "save_last_n_steps", "sample_every_n_steps", "metadata_trigger_phrase", "network_alpha", "guidance_scale",
            "pretrained_model_name_or_path", "clip_l", "t5xxl", "ae", "discrete_flow_shift", "save_precision",
            "persistent_data_loader_workers", "cache_text_encoder_outputs", "cache_text_encoder_outputs_to_disk",
            "save_last_n_steps_state", "output_dir", "max_train_epochs", "save_every_n_epochs", "highvram", "loss_type",
            "logging_dir", "text_encoder_lr", *UNLESS_DEFAULT}
LOSS_NAMES = {theirs: ours for ours, theirs in LOSSES.items()}  # sd-scripts' loss names -> fluxgen's


@dataclass
class Options:
    """flux_train_network.py's options as read from a TOML or a command line, each with where it was written."""

    given: dict[str, Any] = field(default_factory=dict)
    where: dict[str, Where] = field(default_factory=dict)
    folder: Path = Path(".")  # what relative paths in the options are taken from
    accelerate: dict[str, Any] = field(default_factory=dict)

    def at(self, name: str) -> Where:
        return self.where.get(name) or Where("", 0, name)


def import_config(paths: Sequence[Path], *, command: str | None = None) -> Imported:
    """Args TOML (+ its dataset TOML), a dataset TOML alone, a launch script, or `--command STR`."""
    from fluxgen.backends.sd_scripts.import_dataset import import_dataset, import_prompts
    from fluxgen.backends.sd_scripts.import_options import epochs, text_encoder_cache

    args_files, dataset_files, scripts = _sort(paths)
    if command is not None:
        opts, sources = options_from_command(command, "--command", Path.cwd()), ["--command"]
    elif scripts:
        text = _read(scripts[0])
        opts, sources = options_from_command(text, display(scripts[0]), scripts[0].parent), [display(scripts[0])]
    elif args_files:
        opts, sources = options_from_toml(args_files[0]), [display(args_files[0])]
    else:
        opts, sources = Options(), []
    dataset = dataset_files[0] if dataset_files else _named(opts, "dataset_config")
    out = Imported(NAME, sources + ([display(dataset)] if dataset else []))
    if opts.given or not dataset:
        map_options(out, opts)
    else:
        out.note("only a dataset TOML: the training options are left to fluxgen's rules")
    if dataset:
        import_dataset(out, dataset)
        if any(k.startswith("datasets.") and k.endswith(".masks") for k in out.values):  # the masks need it
            out.unmapped = [u for u in out.unmapped if str(u.where.key).rsplit(".", 1)[-1].lstrip("-") != "masked_loss"]
            out.carried = [c for c in out.carried if c.path.rsplit(".", 1)[-1] != "masked_loss"]
    elif "train_data_dir" not in opts.given:
        raise UserError(f"{sources[0] if sources else 'sd-scripts'}: no dataset_config, and fluxgen imports the "
                        "dataset from a dataset TOML; give it as a second file")
    prompts = _named(opts, "sample_prompts")
    if prompts and opts.given.get("sample_every_n_steps"):
        import_prompts(out, prompts)
    if opts.given.get("loss_type") in LOSS_NAMES:
        out.set("train.loss_type", LOSS_NAMES[opts.given["loss_type"]], opts.at("loss_type"))
    if opts.given:
        epochs(out, opts)
        text_encoder_cache(out, opts)
    untrigger(out)
    return out


def _sort(paths: Sequence[Path]) -> tuple[list[Path], list[Path], list[Path]]:
    from fluxgen.validate import COMMAND_SUFFIXES

    args, datasets, scripts = [], [], []
    for path in paths:
        if path.suffix.lower() in COMMAND_SUFFIXES:
            scripts.append(path)
        elif {"general", "datasets"} & set(_load_toml(path)):
            datasets.append(path)
        else:
            args.append(path)
    if len(args) > 1 or len(datasets) > 1 or len(scripts) > 1 or (args and scripts):
        raise UserError("sd-scripts: import one args TOML or one command line, with at most one dataset TOML")
    return args, datasets, scripts


def _read(path: Path) -> str:
    from fluxgen.fsio import read_text_file

    return read_text_file(path)


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_read(path))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None


def _named(opts: Options, name: str) -> Path | None:
    """A file an option names, relative to the options' folder, if it exists."""
    value = opts.given.get(name)
    if not isinstance(value, str) or not value:
        return None
    path = Path(value).expanduser()
    path = path if path.is_absolute() else opts.folder / path
    return path if path.is_file() else None


def options_from_toml(path: Path, opts: Options | None = None) -> Options:
    """Read an args TOML as sd-scripts does (sections flattened one level); `opts` keeps what is already given."""
    from fluxgen.backends.sd_scripts.args import args_from_toml

    opts = opts or Options(folder=path.parent)
    text = _read(path)
    parsed, _ = args_from_toml(_load_toml(path))
    lines = toml_lines(text)
    for name, value in parsed.given.items():
        if name not in opts.given:
            opts.given[name] = value
            opts.where[name] = Where(display(path), lines.get(parsed.paths[name], 0), parsed.paths[name])
    return opts


def options_from_command(text: str, source: str, folder: Path) -> Options:
    """A command line as argparse reads it, then its --config_file for what the line itself does not give."""
    from fluxgen.backends.sd_scripts.args import args_from_argv
    from fluxgen.backends.sd_scripts.validator import SCRIPT, _cd_target, _find_training, parse_launcher
    from fluxgen.validate.shell import split_script

    commands, _ = split_script(text)
    found = _find_training(commands)
    if found is None:
        raise UserError(f"{source}: no {SCRIPT} call found; paste the command that runs it")
    command, index = found
    parsed, _ = args_from_argv(command.tokens[index + 1:])
    accelerate, _ = parse_launcher(command.tokens[:index])
    opts = Options(folder=_cd_target(commands, command) or folder, accelerate=accelerate)
    for name, value in parsed.given.items():
        opts.given[name] = value
        opts.where[name] = Where(source if source != "--command" else "--command", command.line, f"--{name}")
    name = str(opts.given.get("config_file") or "")
    name = name if name.endswith(".toml") else name + ".toml"  # sd-scripts adds the suffix when it is missing
    config = _named(Options({"config_file": name}, folder=opts.folder), "config_file") if name != ".toml" else None
    if opts.given.get("config_file") and config is None:
        raise UserError(f"{source}: --config_file {opts.given['config_file']} not found from {opts.folder}; "
                        "import the TOML itself")
    return options_from_toml(config, opts) if config else opts


def _text_encoder_lr(out: Imported, opts: Options) -> None:
    """`text_encoder_lr = [lr]` (one per text encoder, CLIP-L first; fluxgen writes CLIP-L's)."""
    given = opts.given.get("text_encoder_lr")
    values = given if isinstance(given, list) else str(given or "").split()
    if not values:
        return
    out.set("train.text_encoder_lr", float(values[0]), opts.at("text_encoder_lr"))
    if len(values) > 1:
        out.leave_out(opts.at("text_encoder_lr"), values[1:], "fluxgen sets one text-encoder learning rate, "
                      "CLIP-L's (T5-XXL is not trained)")


def map_options(out: Imported, opts: Options) -> None:
    """Every option to its intent key; absent ones with sd-scripts' default; the rest listed as left out."""
    from fluxgen.backends.sd_scripts.import_options import leftovers, model_files, vram_tier

    for name, key in {**DIRECT, **FLOATS}.items():
        value = _value(opts, name)
        if value is None or value == "":
            continue
        value = float(value) if name in FLOATS else value
        out.set(key, value, opts.at(name) if name in opts.given else f"--{name} absent: sd-scripts' default")
    precision = opts.given.get("mixed_precision", opts.accelerate.get("mixed_precision", "no"))
    out.set("train.precision", PRECISION.get(str(precision), "bf16"), opts.at("mixed_precision")
            if "mixed_precision" in opts.given else "mixed_precision absent: accelerate's flag or sd-scripts' 'no'")
    unet_only = bool(opts.given.get("network_train_unet_only", False))
    out.set("network.train_text_encoder", not unet_only, opts.at("network_train_unet_only")
            if "network_train_unet_only" in opts.given else "network_train_unet_only absent: CLIP-L is trained too")
    _text_encoder_lr(out, opts)
    for name, (key, default) in UNLESS_DEFAULT.items():
        if opts.given.get(name, default) != default:
            out.set(key, opts.given[name], opts.at(name))
    if opts.given.get("optimizer_args"):
        out.set("train.optimizer_args", _optimizer_args(opts.given["optimizer_args"]), opts.at("optimizer_args"))
    else:
        out.set("train.optimizer_args", {}, "optimizer_args absent: the optimizer's defaults")
    saving(out, opts)
    vram_tier(out, opts)
    model_files(out, opts)
    if opts.given.get("metadata_trigger_phrase"):
        out.set("trigger", str(opts.given["metadata_trigger_phrase"]), opts.at("metadata_trigger_phrase"))
    kind = kind_from_comment(opts.given.get("training_comment"))
    if kind:
        out.set("kind", kind, opts.at("training_comment"))
    if not opts.given.get("sample_every_n_steps"):
        out.set("samples.every", 0, "sample_every_n_steps absent: no samples while training")
    else:
        out.set("samples.every", opts.given["sample_every_n_steps"], opts.at("sample_every_n_steps"))
    leftovers(out, opts)


def _value(opts: Options, name: str) -> Any:
    from fluxgen.knowledge import sd_scripts_args

    if name in opts.given:
        return opts.given[name]
    return ABSENT.get(name, sd_scripts_args()[name].default)


def _optimizer_args(items: Any) -> dict[str, Any]:
    """`key=value` strings, each value a Python literal as sd-scripts reads it (ast.literal_eval)."""
    out: dict[str, Any] = {}
    for item in items if isinstance(items, list) else [items]:
        key, _, raw = str(item).partition("=")
        try:
            out[key.strip()] = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = raw.strip()
    return out


def saving(out: Imported, opts: Options) -> None:
    """save.every and save.keep from the step options (save_last_n_steps keeps that many steps back)."""
    steps = out.values.get("train.steps")
    every = opts.given.get("save_every_n_steps")
    if not every:
        if isinstance(steps, int):
            out.set("save.every", steps, "save_every_n_steps absent: only the final LoRA is saved")
        return
    keep_steps = opts.given.get("save_last_n_steps")
    if keep_steps:
        out.set("save.keep", int(keep_steps) // int(every) + 1, opts.at("save_last_n_steps"))
    elif isinstance(steps, int):
        out.set("save.keep", math.ceil(steps / every), "save_last_n_steps absent: every checkpoint is kept")
