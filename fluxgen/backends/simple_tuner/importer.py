"""SimpleTuner's files as a fluxgen intent: config.json (or config.toml, which its loader reads the same way), the
multidatabackend.json it names and its prompt library — the inverse of `files.py` and `planning.py`. An option the
file leaves out counts with SimpleTuner's own default (`keys.json`, read from the pinned package)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fluxgen.backends.simple_tuner import import_datasets
from fluxgen.backends.simple_tuner.keys import KEYS
from fluxgen.backends.simple_tuner.planning import LOSSES, MIXED_PRECISION, OPTIMIZERS, PRECISION_BY_TIER
from fluxgen.errors import UserError
from fluxgen.importer import Imported, Where, display, json_lines, toml_lines
from fluxgen.importer.common import base_from_hub_id, kind_from_meta, untrigger

NAME = "simpletuner"
# Options whose value is an intent value as it stands: option -> intent key (absent: SimpleTuner's default).
DIRECT = {
    "lora_rank": "network.rank", "learning_rate": "train.lr", "lr_scheduler": "train.scheduler",
    "lr_warmup_steps": "train.warmup_steps", "train_batch_size": "train.batch_size",
    "gradient_checkpointing": "train.gradient_checkpointing", "flux_guidance_value": "train.guidance",
    "caption_dropout_probability": "train.caption_dropout", "checkpoint_step_interval": "save.every",
    "checkpoints_total_limit": "save.keep", "validation_num_inference_steps": "samples.steps",
    "validation_guidance": "samples.guidance", "train_text_encoder": "network.train_text_encoder",
}
# Options mapped only when the file gives them (SimpleTuner's default would change a plan that leaves them out).
GIVEN = {"seed": "train.seed", "validation_seed": "samples.seed", "tracker_run_name": "name",
         "lora_dropout": "network.dropout", "gradient_accumulation_steps": "train.gradient_accumulation",
         "use_ema": "train.ema", "ema_decay": "train.ema_decay", "validation_on_startup": "samples.first",
         "validation_negative_prompt": "samples.negative"}
FLOATS = {"learning_rate", "flux_guidance_value", "caption_dropout_probability", "validation_guidance",
          "lora_alpha", "lora_dropout", "ema_decay"}
# What fluxgen always writes (files.config_dict): the same value loses nothing; another is carried or listed.
FIXED = {"model_family": "flux", "model_type": "lora", "lora_type": "standard", "num_train_epochs": 0,
         "resolution_type": "pixel_area", "data_backend_config": "multidatabackend.json", "output_dir": "output",
         "cache_dir": "cache", "push_to_hub": False, "disable_benchmark": True, "resume_from_checkpoint": "latest",
         "report_to": "none", "user_prompt_library": "prompt_library.json", "logging_dir": "logs"}
RUN_FOLDER = {"output_dir": "output", "cache_dir": "cache", "logging_dir": "logs"}
FOUND = {"data_backend_config", "user_prompt_library"}  # files read here; fluxgen writes its own beside config.json
TIERS = {precision: tier for tier, precision in sorted(PRECISION_BY_TIER.items())}  # the lowest tier of each
PRECISION = {v: k for k, v in MIXED_PRECISION.items() if k != "auto"}


class Config:
    """The options as SimpleTuner's loader reads them (legacy names renamed), each with its file:line."""

    def __init__(self, path: Path) -> None:
        from fluxgen.backends.simple_tuner.options import RENAMED
        from fluxgen.fsio import read_text_file

        text = read_text_file(path)
        self.path, self.src, self.folder = path, display(path), path.parent
        try:
            data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UserError(f"{path}: not valid {path.suffix.lstrip('.').upper() or 'JSON'} ({exc})") from None
        if not isinstance(data, dict):
            raise UserError(f"{path}: not a SimpleTuner config (a JSON object of options)")
        lines = toml_lines(text) if path.suffix.lower() == ".toml" else json_lines(text)
        self.given: dict[str, Any] = {}
        self.where: dict[str, Where] = {}
        for key, value in data.items():
            name = RENAMED.get(key.lstrip("-"), key.lstrip("-"))
            if value is None or name in KEYS["loader"]["skipped"]:
                continue
            self.given[name] = value
            self.where[name] = Where(self.src, lines.get(key, 0), key)
        self.used: set[str] = set()

    def at(self, name: str) -> Where:
        return self.where.get(name) or Where(self.src, 0, name)

    def get(self, name: str) -> Any:
        self.used.add(name)
        return self.given.get(name, KEYS["options"][name]["default"] if name in KEYS["options"] else None)

    def origin(self, out: Imported, key: str, value: Any, name: str) -> None:
        """An intent value from an option, or from SimpleTuner's default when the file leaves the option out."""
        out.set(key, value, self.at(name) if name in self.given else f"{name} absent from {self.src}: "
                "SimpleTuner's default")


def import_config(paths: Sequence[Path], *, command: str | None = None) -> Imported:
    """config.json/.toml (+ the multidatabackend.json it names, or given beside it) -> intent values."""
    if command is not None:
        raise UserError("simpletuner: import its config.json (no --command; that is for sd-scripts command lines)")
    config_path, datasets_path = _sort(paths)
    cfg = Config(config_path)
    _check_flux(cfg)
    datasets_path = datasets_path or _named(cfg, "data_backend_config")
    out = Imported(NAME, [cfg.src] + ([display(datasets_path)] if datasets_path else []))
    _options(out, cfg)
    _samples(out, cfg)
    if datasets_path is None:
        raise UserError(f"{cfg.src}: the dataset list it names ({cfg.given.get('data_backend_config')}) was not "
                        "found; give multidatabackend.json as a second file")
    import_datasets.import_datasets(out, cfg, datasets_path)
    _identity(out, cfg)
    _leftovers(out, cfg)
    untrigger(out)
    return out


def _sort(paths: Sequence[Path]) -> tuple[Path, Path | None]:
    configs, datasets = [], []
    for path in paths:
        if path.suffix.lower() == ".json" and _is_list(path):
            datasets.append(path)
        else:
            configs.append(path)
    if len(configs) != 1 or len(datasets) > 1:
        raise UserError("simpletuner: import one config.json (or config.toml), with at most its multidatabackend.json")
    return configs[0], (datasets[0] if datasets else None)


def _is_list(path: Path) -> bool:
    from fluxgen.fsio import read_text_file

    return read_text_file(path).lstrip().startswith("[")


def _named(cfg: Config, name: str) -> Path | None:
    """A file an option names: SimpleTuner opens it from the folder it is started in, which the config does not
    say, so the config's folder and the two above it are tried (its examples run from the folder above config/)."""
    value = cfg.given.get(name)
    if not isinstance(value, str) or not value:
        return None
    path = Path(value).expanduser()
    if path.is_absolute():
        return path if path.is_file() else None
    for folder in (cfg.folder, *list(cfg.folder.resolve().parents)[:2]):
        if (folder / path).is_file():
            return folder / path
    return None


def _check_flux(cfg: Config) -> None:
    family, kind, lora = cfg.given.get("model_family"), cfg.get("model_type"), cfg.get("lora_type")
    if family != "flux":
        raise UserError(f"{cfg.at('model_family')}: model_family is {family!r}; fluxgen plans FLUX.1 LoRAs only")
    if kind != "lora" or lora != "standard":
        raise UserError(f"{cfg.at('model_type')}: model_type {kind!r}, lora_type {lora!r}; fluxgen plans standard "
                        "LoRAs (model_type lora, lora_type standard)")


def _options(out: Imported, cfg: Config) -> None:
    for name, key in DIRECT.items():
        value = cfg.get(name)
        cfg.origin(out, key, float(value) if name in FLOATS else value, name)
    for name, key in GIVEN.items():
        if name in cfg.given:
            value = cfg.get(name)
            out.set(key, float(value) if name in FLOATS else value, cfg.at(name))
    loss = {st: ours for ours, st in LOSSES.items()}.get(str(cfg.given.get("loss_type")))
    if loss is not None:  # planned only when given: the trainer's default l2 stays the rules' business
        out.set("train.loss_type", loss, cfg.at("loss_type"))
    rank = out.values["network.rank"]
    alpha = cfg.get("lora_alpha")
    cfg.origin(out, "network.alpha", float(alpha if alpha is not None else rank), "lora_alpha")
    _steps(out, cfg)
    _optimizer(out, cfg)
    _model(out, cfg)
    timestep = "uniform" if cfg.get("flow_use_uniform_schedule") else "sigmoid"
    cfg.origin(out, "train.timestep_sampling", timestep, "flow_use_uniform_schedule")
    report = str(cfg.get("report_to") or "none").replace(" ", "")
    if report != "none":
        logging = {"tensorboard": "tensorboard", "wandb": "wandb", "tensorboard,wandb": "all",
                   "wandb,tensorboard": "all"}.get(report)
        if logging:
            out.set("logging", logging, cfg.at("report_to"))
            cfg.used.add("report_to")


def _steps(out: Imported, cfg: Config) -> None:
    steps, epochs = cfg.get("max_train_steps"), cfg.get("num_train_epochs")
    if steps:
        out.set("train.steps", steps, cfg.at("max_train_steps"))
    elif epochs:
        out.leave_out(cfg.at("num_train_epochs"), epochs, "fluxgen counts steps and SimpleTuner's epoch length "
                      "depends on its buckets; the rules set train.steps")
        cfg.used.add("num_train_epochs")


def _optimizer(out: Imported, cfg: Config) -> None:
    """SimpleTuner's optimizer names back to fluxgen's (planning.OPTIMIZERS), its own name otherwise."""
    named = str(cfg.get("optimizer"))
    back = {v: k for k, v in OPTIMIZERS.items()} | {"optimi-adamw": "adamw"}
    cfg.origin(out, "train.optimizer", back.get(named, named), "optimizer")
    precision = str(cfg.get("mixed_precision"))
    if precision in PRECISION:
        cfg.origin(out, "train.precision", PRECISION[precision], "mixed_precision")
    else:
        out.leave_out(cfg.at("mixed_precision"), precision, "fluxgen trains in bf16, fp16 or fp32")
    given = cfg.get("optimizer_config")
    out.set("train.optimizer_args", _optimizer_args(given) if given else {}, cfg.at("optimizer_config") if given
            else "optimizer_config absent: the optimizer's defaults")


def _optimizer_args(text: Any) -> dict[str, Any]:
    """`k=v,k=v` (st:optimizer_param), each value a number or word where it reads as one."""
    import yaml

    out: dict[str, Any] = {}
    for item in str(text).split(","):
        key, _, raw = item.partition("=")
        if key.strip():
            value = yaml.safe_load(raw.strip()) if raw.strip() else ""
            out[key.strip()] = value if isinstance(value, int | float | bool | str) else raw.strip()
    return out


def _model(out: Imported, cfg: Config) -> None:
    """model.base from the hub id or folder; the VRAM tier from base_model_precision (planning.PRECISION_BY_TIER)."""
    path = cfg.get("pretrained_model_name_or_path")
    flavour = cfg.get("model_flavour")
    if path:
        out.set("model.base", base_from_hub_id(str(path), cfg.folder), cfg.at("pretrained_model_name_or_path"))
    elif flavour in ("dev", "schnell"):
        out.set("model.base", flavour, cfg.at("model_flavour"))
    precision = str(cfg.get("base_model_precision"))
    tier = {"no_change": 48}.get(precision, TIERS.get(precision))
    if tier is None:
        out.leave_out(cfg.at("base_model_precision"), precision, "no VRAM tier renders this quantisation; the rules "
                      "pick one for the tier")
        return
    cfg.origin(out, "vram", tier, "base_model_precision")
    same = sorted(t for t, p in PRECISION_BY_TIER.items() if p == PRECISION_BY_TIER[tier])
    if len(same) > 1:
        out.note(f"base_model_precision {precision} renders the same for {', '.join(map(str, same))} GB; imported "
                 f"as {tier} GB")


def _samples(out: Imported, cfg: Config) -> None:
    """Validation prompt + prompt library -> samples.prompts; interval, seed, size."""
    prompt = cfg.get("validation_prompt")
    every = cfg.get("validation_step_interval")
    if not prompt or not every:
        out.set("samples.every", 0, cfg.at("validation_prompt") if "validation_prompt" in cfg.given else
                "validation_prompt absent: no validation images while training")
        return
    prompts = [str(prompt)] + _library(out, cfg)
    out.set("samples.prompts", prompts, cfg.at("validation_prompt"))
    cfg.origin(out, "samples.every", every, "validation_step_interval")
    size = str(cfg.get("validation_resolution"))
    sides = {int(s) for s in size.lower().split("x") if s.strip().isdigit()}
    if len(sides) == 1:
        cfg.origin(out, "samples.size", sides.pop(), "validation_resolution")
    else:
        out.leave_out(cfg.at("validation_resolution"), size, "samples are square in fluxgen")


def _library(out: Imported, cfg: Config) -> list[str]:
    """The prompts of user_prompt_library, in its order (SimpleTuner renders each as `prompt_<i>`)."""
    from fluxgen.fsio import read_text_file

    if "user_prompt_library" not in cfg.given:
        return []
    cfg.used.add("user_prompt_library")
    path = _named(cfg, "user_prompt_library")
    if path is None:
        out.leave_out(cfg.at("user_prompt_library"), cfg.given["user_prompt_library"], "the prompt library was not "
                      "found beside the config; its prompts are not imported")
        return []
    try:
        data = json.loads(read_text_file(path))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    values = data.values() if isinstance(data, dict) else []
    return [str(v if not isinstance(v, dict) else v.get("prompt", "")) for v in values]


def _identity(out: Imported, cfg: Config) -> None:
    """Kind and trigger from the metadata fluxgen writes into modelspec_comment (`fluxgen-meta: {...}`)."""
    comment = cfg.given.get("modelspec_comment")
    cfg.used.add("modelspec_comment")
    for line in comment if isinstance(comment, list) else [comment] if isinstance(comment, str) else []:
        if isinstance(line, str) and line.startswith("fluxgen-meta: "):
            try:
                meta = json.loads(line.removeprefix("fluxgen-meta: "))
            except json.JSONDecodeError:
                continue
            if kind := kind_from_meta(meta):
                out.set("kind", kind, cfg.at("modelspec_comment"))
            if meta.get("fluxgen.trigger") and "trigger" not in out.values:
                out.set("trigger", str(meta["fluxgen.trigger"]), cfg.at("modelspec_comment"))


def _leftovers(out: Imported, cfg: Config) -> None:
    """Every other option: silent when it says what fluxgen writes anyway, else offered to the pass-through."""
    consumed = set(DIRECT) | set(GIVEN) | {"loss_type", "lora_alpha", "max_train_steps", "optimizer", "mixed_precision",
                                           "optimizer_config", "pretrained_model_name_or_path", "model_flavour",
                                           "base_model_precision", "flow_use_uniform_schedule", "validation_prompt",
                                           "validation_step_interval", "validation_resolution", "resolution"}
    for name, value in cfg.given.items():
        if name in consumed or name in cfg.used or FIXED.get(name, object()) == value or name in FOUND:
            continue
        if name in RUN_FOLDER:
            out.leave_out(cfg.at(name), value, f"fluxgen writes {RUN_FOLDER[name]}/ inside the run folder")
        else:
            out.carry(cfg.at(name), f"config.{name}", value)
