"""An ai-toolkit YAML job as a fluxgen intent: the inverse of `templates/ai-toolkit/config.yaml.j2` and the rules
behind it. A key the file leaves out counts with ai-toolkit's own default (read from its source at the pin)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fluxgen.backends.ai_toolkit.planning import EMA_DECAY, LOSSES
from fluxgen.errors import UserError
from fluxgen.importer import Imported, Where, display, yaml_lines
from fluxgen.importer.common import absolute_folder, base_from_hub_id, flat, kind_from_meta, untrigger

NAME = "ai-toolkit"
# Keys of the training process whose value is an intent value as it stands: process path -> intent key.
DIRECT = {
    "training_seed": "train.seed", "network.linear": "network.rank", "network.linear_alpha": "network.alpha",
    "save.save_every": "save.every", "save.max_step_saves_to_keep": "save.keep",
    "train.batch_size": "train.batch_size", "train.steps": "train.steps", "train.lr": "train.lr",
    "train.train_text_encoder": "network.train_text_encoder",
    "train.gradient_checkpointing": "train.gradient_checkpointing", "train.timestep_type": "train.timestep_sampling",
    "train.optimizer": "train.optimizer", "train.optimizer_params": "train.optimizer_args",
    "train.lr_scheduler": "train.scheduler", "train.lr_scheduler_params.num_warmup_steps": "train.warmup_steps",
    "train.dtype": "train.precision", "sample.sample_every": "samples.every", "sample.seed": "samples.seed",
    "sample.guidance_scale": "samples.guidance", "sample.sample_steps": "samples.steps",
}
LOSS_NAMES = {theirs: ours for ours, theirs in LOSSES.items()}  # ai-toolkit's loss names -> fluxgen's
# ai-toolkit's per-prompt SampleItem keys -> fluxgen's (the reverse of ai_toolkit/files.SAMPLE_KEYS).
SAMPLE_ITEM = {"prompt": "prompt", "neg": "negative", "sample_steps": "steps", "seed": "seed", "width": "size",
               "guidance_scale": "guidance"}
# Dataset keys (the same in every dataset entry) -> intent key.
DATASET = {"caption_dropout_rate": "train.caption_dropout", "shuffle_tokens": "train.shuffle_captions",
           "num_repeats": "dataset.repeats", "buckets": "dataset.buckets"}
# What fluxgen always writes (templates/ai-toolkit/config.yaml.j2 and ai_toolkit/planning.py); a file that says
# the same loses nothing, a different value is listed as left out.
FIXED = {
    "type": "sd_trainer", "training_folder": "output", "network.type": "lora", "save.dtype": "float16",
    "train.gradient_accumulation": 1, "train.gradient_accumulation_steps": 1, "train.train_unet": True,
    "train.noise_scheduler": "flowmatch",
    "model.is_flux": True, "sample.sampler": "flowmatch", "sample.neg": "", "sample.walk_seed": True,
    "datasets.cache_latents_to_disk": True,
}
NO_CAPTIONS = "fluxgen-no-captions"  # the caption_ext fluxgen writes for trigger-only and caption-free modes


def import_config(paths: Sequence[Path], *, command: str | None = None) -> Imported:
    """Map every setting of the job's training process to the intent key that renders it."""
    from fluxgen.backends.ai_toolkit.yaml_loader import load_aitk_yaml
    from fluxgen.fsio import read_text_file

    if command is not None or len(paths) != 1:
        raise UserError("ai-toolkit: import one config YAML (no --command; that is for sd-scripts command lines)")
    path = paths[0]
    text = read_text_file(path)
    data, _ = load_aitk_yaml(text, str(path))
    index, proc = _training_process(data, path)
    src = display(path)
    out = Imported(NAME, [src])
    leaves = {k: v for k, v in flat(proc, lists=False).items() if not k.startswith("train.optimizer_params.")}
    if isinstance(proc.get("train"), dict) and "optimizer_params" in proc["train"]:
        leaves["train.optimizer_params"] = proc["train"]["optimizer_params"] or {}
    ctx = _Ctx(out, src, yaml_lines(text), f"config.process.{index}.", leaves, Path(path).parent)
    if isinstance(data.get("config", {}).get("name"), str):
        out.set("name", data["config"]["name"], ctx.where("config.name", top=True))
    _direct(ctx)
    _datasets(ctx, proc.get("datasets") or [])
    _model(ctx, proc.get("model") or {})
    _sample(ctx, proc.get("sample"))
    _loss(ctx, proc.get("train"), proc.get("network"))
    _identity(ctx, proc, data.get("meta") or {})
    _ema(ctx)
    _leftovers(ctx)
    return out


class _Ctx:
    """The record being filled, and which process keys have been used (the rest are listed as left out)."""

    def __init__(self, out: Imported, src: str, lines: dict[str, int], prefix: str, leaves: dict[str, Any],
                 folder: Path) -> None:
        self.out, self.src, self.lines, self.prefix, self.leaves, self.folder = out, src, lines, prefix, leaves, folder
        self.used: set[str] = set()

    def where(self, key: str, *, top: bool = False) -> Where:
        full = key if top else self.prefix + key
        return Where(self.src, self.lines.get(full, 0), full)

    def take(self, key: str, intent_key: str, value: Any) -> None:
        self.used.add(key)
        self.out.set(intent_key, value, self.where(key))

    def default(self, key: str) -> Any:
        from fluxgen.knowledge import ai_toolkit_schema

        section, _, leaf = key.rpartition(".")
        specs = ai_toolkit_schema().sections.get(section, {}) if section else ai_toolkit_schema().process
        spec = specs.get(leaf)
        return spec.default if spec is not None else None


def _training_process(data: Any, path: Path) -> tuple[int, dict[str, Any]]:
    from fluxgen.knowledge import ai_toolkit_schema

    procs = data.get("config", {}).get("process") if isinstance(data, dict) and isinstance(data.get("config"), dict) \
        else None
    if not isinstance(procs, list):
        raise UserError(f"{path}: not an ai-toolkit job (no config.process list); pass --backend for another trainer")
    trainers = ai_toolkit_schema().trainer_process_types
    for i, proc in enumerate(procs):
        if isinstance(proc, dict) and proc.get("type") in trainers:
            if not (proc.get("model") or {}).get("is_flux") and (proc.get("model") or {}).get("arch") != "flux":
                raise UserError(f"{path}: config.process.{i}.model is not FLUX.1 (no is_flux: true); fluxgen plans "
                                "FLUX.1 LoRAs only")
            return i, proc
    raise UserError(f"{path}: no training process in config.process (types {', '.join(trainers)})")


def _direct(ctx: _Ctx) -> None:
    for key, intent_key in DIRECT.items():
        if key.startswith("sample.") and "sample" not in {k.split(".")[0] for k in ctx.leaves}:
            continue
        if key in ctx.leaves:
            ctx.take(key, intent_key, _plain(ctx.leaves[key]))
        elif (default := ctx.default(key)) is not None:
            ctx.out.set(intent_key, _plain(default), f"{key} absent from {ctx.src}: ai-toolkit's default")


def _plain(value: Any) -> Any:
    """ai-toolkit's loader reads 1e-4 as a float subclass; the intent wants plain types."""
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _datasets(ctx: _Ctx, datasets: list[Any]) -> None:
    """fluxgen writes one dataset per resolution; any entries that differ only in resolution are one intent."""
    entries = [d for d in datasets if isinstance(d, dict)]
    if not entries:
        return
    if len({str(d.get("folder_path")) for d in entries}) > 1 or any(d.get("is_reg") for d in entries):
        from fluxgen.backends.ai_toolkit.import_datasets import several

        several(ctx, entries)
        return
    first = entries[0]
    same = [d for d in entries if {k: v for k, v in d.items() if k != "resolution"} ==
            {k: v for k, v in first.items() if k != "resolution"}]
    resolutions: list[int] = []
    for d in same:
        res = d.get("resolution", ctx.default("datasets[].resolution"))
        resolutions += [r for r in (res if isinstance(res, list) else [res]) if r not in resolutions]
    for i, d in enumerate(entries):
        if d not in same:
            ctx.out.leave_out(ctx.where(f"datasets.{i}"), d.get("folder_path"), "a second, different dataset: the "
                              "intent has one image folder")
    ctx.used.update(k for k in ctx.leaves if k.startswith("datasets"))
    w = lambda key: ctx.where(f"datasets.0.{key}")  # noqa: E731
    if "folder_path" in first:
        ctx.out.set("dataset.path", absolute_folder(str(first["folder_path"]), ctx.folder, ctx.out), w("folder_path"))
    ctx.out.set("train.resolution", resolutions, w("resolution"))
    for key, intent_key in DATASET.items():
        value = first.get(key, ctx.default(f"datasets[].{key}"))
        ctx.out.set(intent_key, _plain(value), w(key) if key in first else f"datasets[].{key} absent: ai-toolkit's "
                    "default")
    _captions(ctx, first, w)
    workers(ctx, first, w)
    for key, value in first.items():
        if key not in (*DATASET, "folder_path", "resolution", "caption_ext", "default_caption", "cache_latents_to_disk",
                       "num_workers"):
            ctx.out.carry(w(key), f"datasets.{key}", value)  # the pass-through adds it to every dataset entry
    if first.get("cache_latents_to_disk", False) is not True:
        ctx.out.leave_out(w("cache_latents_to_disk"), first.get("cache_latents_to_disk", False),
                          "fluxgen always caches latents to disk")


def workers(ctx: _Ctx, first: dict[str, Any], w: Any) -> None:
    """ai-toolkit's data loader takes its workers from the first dataset (ref:ai-toolkit §2.3)."""
    if "num_workers" in first:
        ctx.out.set("train.workers", int(first["num_workers"]), w("num_workers"))


def _captions(ctx: _Ctx, first: dict[str, Any], w: Any) -> None:
    ext = str(first.get("caption_ext", ctx.default("datasets[].caption_ext")))
    default = first.get("default_caption")
    if ext == NO_CAPTIONS:
        mode = "trigger" if default == "[trigger]" else "none"
        ctx.out.set("dataset.captions", mode, w("default_caption"))
        if default not in ("", "[trigger]", None):
            ctx.out.leave_out(w("default_caption"), default, "a fixed caption other than the trigger: the intent "
                              "has captions, trigger-only or none")
        return
    ctx.out.set("dataset.captions", "captions", w("caption_ext") if "caption_ext" in first else
                "caption_ext absent: ai-toolkit reads .txt captions")
    ctx.out.set("dataset.caption_ext", "." + ext.lstrip("."), w("caption_ext") if "caption_ext" in first else
                "caption_ext absent: ai-toolkit's default")
    if default:
        ctx.out.leave_out(w("default_caption"), default, "the caption of images without a caption file: fluxgen "
                          "writes none in captions mode")


def _model(ctx: _Ctx, model: dict[str, Any]) -> None:
    from fluxgen.rules.model import SCHNELL_ADAPTER

    if "name_or_path" in model:
        ctx.take("model.name_or_path", "model.base", base_from_hub_id(str(model["name_or_path"]), ctx.folder))
    quantize, low = bool(model.get("quantize", False)), bool(model.get("low_vram", False))
    ctx.used.update({"model.quantize", "model.low_vram"})
    where = ctx.where("model.quantize")
    if quantize and not low:
        ctx.out.set("vram", 24, f"{where} (model.quantize true, low_vram false: the 24 GB tier)")
    elif quantize:
        ctx.out.set("vram", 16, f"{where} (model.quantize and low_vram: the 16 GB tier)")
        ctx.out.note("quantize + low_vram render the same for 8, 10, 12 and 16 GB; imported as 16 GB")
    elif model.get("quantize_te") is False:
        ctx.used.add("model.quantize_te")
        ctx.out.set("vram", 80, f"{where} (model.quantize_te written false: the 80 GB tier)")
    else:
        ctx.out.set("vram", 48, f"{where} (model.quantize false: the 48 GB tier)")
        ctx.out.note("no quantization renders the same for 48 and 80 GB; imported as 48 GB")
        if low:
            ctx.out.leave_out(ctx.where("model.low_vram"), True, "low_vram without quantize: no VRAM tier renders it")
    if model.get("assistant_lora_path") == SCHNELL_ADAPTER:
        ctx.used.add("model.assistant_lora_path")


def _sample(ctx: _Ctx, sample: Any) -> None:
    if not isinstance(sample, dict):
        ctx.out.set("samples.every", 0, f"no sample section in {ctx.src}: no samples while training")
        return
    ctx.used.add("sample.prompts")
    if isinstance(sample.get("prompts"), list):
        ctx.out.set("samples.prompts", [str(p) for p in sample["prompts"]], ctx.where("sample.prompts"))
    if isinstance(sample.get("samples"), list):
        ctx.used.add("sample.samples")
        ctx.out.set("samples.prompts", [_sample_item(ctx, i, item) for i, item in enumerate(sample["samples"])],
                    ctx.where("sample.samples"))
    if isinstance(sample.get("neg"), str) and sample["neg"]:
        ctx.take("sample.neg", "samples.negative", sample["neg"])
    width, height = sample.get("width", 512), sample.get("height", 512)
    ctx.used.update({"sample.width", "sample.height"})
    ctx.out.set("samples.size", width, ctx.where("sample.width"))
    if width != height:
        ctx.out.leave_out(ctx.where("sample.height"), height, f"samples are square in fluxgen ({width} px)")


def _sample_item(ctx: _Ctx, index: int, item: Any) -> Any:
    """One `sample.samples` entry as a prompt mapping; what fluxgen cannot say is listed as left out."""
    if not isinstance(item, dict):
        return str(item)
    out = {}
    for key, value in item.items():
        if key in SAMPLE_ITEM and not (key == "width" and item.get("height", value) != value):
            out[SAMPLE_ITEM[key]] = str(value) if key in ("prompt", "neg") else value
        elif key != "height" or item.get("width") != value:
            ctx.out.leave_out(ctx.where(f"sample.samples.{index}.{key}"), value, "no per-prompt intent key says it")
    return out if set(out) != {"prompt"} else out["prompt"]


def _loss(ctx: _Ctx, train: Any, network: Any) -> None:
    """Settings planned only when given (loss type, noise offset, dropout, text-encoder lr, accumulation): imported
    only when the file sets them to something other than ai-toolkit's default."""
    train = train if isinstance(train, dict) else {}
    network = network if isinstance(network, dict) else {}
    if train.get("loss_type") in LOSS_NAMES:
        ctx.take("train.loss_type", "train.loss_type", LOSS_NAMES[train["loss_type"]])
    for key, intent_key, given in (("train.noise_offset", "train.noise_offset", train.get("noise_offset")),
                                   ("train.text_encoder_lr", "train.text_encoder_lr", train.get("text_encoder_lr")),
                                   ("network.dropout", "network.dropout", network.get("dropout"))):
        if isinstance(given, int | float) and not isinstance(given, bool):
            ctx.take(key, intent_key, float(given))
    if isinstance(train.get("gradient_accumulation"), int) and train["gradient_accumulation"] != 1:
        ctx.take("train.gradient_accumulation", "train.gradient_accumulation", train["gradient_accumulation"])


def _identity(ctx: _Ctx, proc: dict[str, Any], meta: dict[str, Any]) -> None:
    """Trigger, kind (from fluxgen's own metadata, else content_or_style: style) and the prompts' trigger."""
    if proc.get("trigger_word"):
        ctx.take("trigger_word", "trigger", str(proc["trigger_word"]))
    elif meta.get("fluxgen.trigger"):
        ctx.out.set("trigger", str(meta["fluxgen.trigger"]), Where(ctx.src, ctx.lines.get("meta.fluxgen.trigger", 0),
                                                                   "meta.fluxgen.trigger"))
    ctx.used.add("train.content_or_style")
    kind = kind_from_meta(meta)
    style = proc.get("train", {}).get("content_or_style", "balanced")
    if kind:
        ctx.out.set("kind", kind, Where(ctx.src, ctx.lines.get("meta.fluxgen.kind", 0), "meta.fluxgen.kind"))
    elif style == "style":
        ctx.take("train.content_or_style", "kind", "style")
    if style not in ("style", "balanced") or (kind and (kind == "style") != (style == "style")):
        ctx.out.leave_out(ctx.where("train.content_or_style"), style, "fluxgen writes style for a style LoRA and "
                          "balanced for the other kinds")
    untrigger(ctx.out)


def _ema(ctx: _Ctx) -> None:
    """train.ema/ema_decay only where the file differs from fluxgen's EMA, so the intent stays portable to
    trainers without EMA; an absent ema_config is ai-toolkit's default, no EMA."""
    on_key, decay_key = "train.ema_config.use_ema", "train.ema_config.ema_decay"
    ctx.used.update({on_key, decay_key})
    on = bool(ctx.leaves.get(on_key, ctx.default(on_key)))
    decay = float(ctx.leaves.get(decay_key, ctx.default(decay_key)))
    if not on:
        origin = ctx.where(on_key) if on_key in ctx.leaves else f"{on_key} absent from {ctx.src}: ai-toolkit's default"
        ctx.out.set("train.ema", False, origin)
    elif decay != EMA_DECAY:  # fluxgen plans EMA for ai-toolkit: only a different one is imported
        ctx.out.set("train.ema", True, ctx.where(on_key))
        ctx.out.set("train.ema_decay", decay, ctx.where(decay_key))


def _leftovers(ctx: _Ctx) -> None:
    """Every process key not mapped: silent when it says what fluxgen writes anyway, else offered to the
    pass-through (which refuses what fluxgen writes itself, naming the intent key)."""
    for key, value in ctx.leaves.items():
        if key in ctx.used or key in DIRECT:
            continue
        if key in FIXED and value == FIXED[key]:
            continue
        ctx.out.carry(ctx.where(key), key, _plain(value))
