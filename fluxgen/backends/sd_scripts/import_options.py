"""The sd-scripts options that are not one intent value each: the VRAM tier behind fp8_base/blocks_to_swap/
max_grad_norm, the four model files, the text-encoder cache, and the options no intent key can say."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.importer import Imported, Where

if TYPE_CHECKING:
    from fluxgen.backends.sd_scripts.importer import Options

PARTS = {"transformer": "pretrained_model_name_or_path", "clip_l": "clip_l", "t5xxl": "t5xxl", "ae": "ae"}


def vram_tier(out: Imported, opts: Options) -> None:
    """The tier whose rules (rules/memory.py) render these memory options: swap 28/22/16 -> 8/10/12 GB, fp8 without
    swap -> 24 GB (16 GB when Adafactor runs unclipped, its documented 16 GB setting), no fp8 -> 48 GB."""
    from fluxgen.backends.sd_scripts.planning import SWAP_BY_TIER

    fp8, swap = bool(opts.given.get("fp8_base", False)), opts.given.get("blocks_to_swap")
    adafactor = str(out.values.get("train.optimizer", "")).lower() == "adafactor"
    clip = float(opts.given.get("max_grad_norm", 1.0))
    where = opts.at("blocks_to_swap") if swap else opts.at("fp8_base")
    if swap:
        by_swap = {v: k for k, v in SWAP_BY_TIER.items()}
        tier = by_swap.get(swap) or min(by_swap.items(), key=lambda kv: abs(kv[0] - swap))[1]
        if swap not in by_swap:
            out.leave_out(opts.at("blocks_to_swap"), swap, f"fluxgen swaps {SWAP_BY_TIER[tier]} blocks at the "
                          f"nearest tier, {tier} GB")
    elif fp8:
        tier = 16 if adafactor and clip == 0.0 else 24
    elif opts.given.get("highvram"):
        tier = 80
        where = opts.at("highvram")
    else:
        tier = 48
        out.note("no fp8 base renders the same for 48 and 80 GB; imported as 48 GB")
    if tier != 80 and opts.given.get("highvram"):
        out.leave_out(opts.at("highvram"), True, f"fluxgen writes --highvram only at 80 GB (this is the {tier} GB tier)")
    out.set("vram", tier, f"{where} (the {tier} GB tier)" if where.file else f"the {tier} GB tier: fp8_base "
            f"{fp8}, blocks_to_swap {swap}")
    if tier == 24 and fp8:
        out.note("fp8 base without block swapping renders the same for 16 and 24 GB (16 GB adds Adafactor); "
                 "imported as 24 GB")
    expected = 0.0 if adafactor and tier <= 16 else 1.0
    if clip != expected:
        out.leave_out(opts.at("max_grad_norm"), clip, f"fluxgen clips gradients at {expected} for this optimizer and "
                      "tier")


def model_files(out: Imported, opts: Options) -> None:
    """A diffusers folder's four files -> model.base; the hub files fluxgen uses -> dev/schnell; else each file."""
    from fluxgen.rules.model import DIFFUSERS_FILES, HUB_FILES, TEXT_ENCODERS_REPO

    files = {part: _absolute(opts, opts.given[name]) for part, name in PARTS.items() if opts.given.get(name)}
    if not files:
        return
    folders = {part: _diffusers_root(path, DIFFUSERS_FILES[part]) for part, path in files.items()}
    roots = set(folders.values())
    if len(files) == 4 and len(roots) == 1 and None not in roots:
        out.set("model.base", roots.pop(), opts.at("pretrained_model_name_or_path"))
        return
    base = "schnell" if "schnell" in Path(files.get("transformer", "")).name.lower() else "dev"
    out.set("model.base", base, opts.at("pretrained_model_name_or_path"))
    t5 = "t5xxl_fp8_e4m3fn.safetensors" if out.values.get("vram", 24) <= 10 else "t5xxl_fp16.safetensors"
    defaults = {**HUB_FILES[base], "clip_l": f"hf://{TEXT_ENCODERS_REPO}/clip_l.safetensors",
                "t5xxl": f"hf://{TEXT_ENCODERS_REPO}/{t5}"}
    for part, path in files.items():
        if path != defaults[part]:
            out.set(f"model.{part}", path, opts.at(PARTS[part]))


def _absolute(opts: Options, value: Any) -> str:
    text = str(value)
    if text.startswith("hf://"):
        return text
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else (opts.folder / path).resolve())


def _diffusers_root(path: str, rel: str) -> str | None:
    return path[: -len(rel) - 1] if path.endswith("/" + rel) else None


def text_encoder_cache(out: Imported, opts: Options) -> None:
    """fluxgen caches text-encoder outputs exactly when nothing needs them live (rules/captions.py)."""
    live = (out.values.get("network.train_text_encoder") or out.values.get("train.shuffle_captions")
            or (out.values.get("train.caption_dropout") or 0.0) > 0)
    given = bool(opts.given.get("cache_text_encoder_outputs", False))
    if given == (not live):
        return
    why = ("fluxgen caches them only when caption dropout, shuffling and text-encoder training are off" if given
           else "fluxgen caches them whenever nothing needs them live, to save VRAM")
    out.leave_out(opts.at("cache_text_encoder_outputs"), given, why)


def leftovers(out: Imported, opts: Options) -> None:
    """Options fluxgen writes differently or not at all; silent where the file says what fluxgen writes anyway."""
    from fluxgen.backends.sd_scripts.importer import CONSUMED, DIRECT, FIXED, FLOATS
    from fluxgen.backends.sd_scripts.planning import FLOW_SHIFT as SD_SCRIPTS_FLOW_SHIFT

    for name, value in opts.given.items():
        if name in DIRECT or name in FLOATS or name in CONSUMED or FIXED.get(name, object()) == value:
            continue
        if name in FIXED:
            out.leave_out(opts.at(name), value, f"fluxgen always writes {FIXED[name]!r}")
        else:  # the pass-through's args table; it refuses what fluxgen writes itself, naming the intent key
            out.carry(opts.at(name), f"args.{name}", value)
    if "model_prediction_type" not in opts.given:
        out.leave_out(Where(opts.at("network_dim").file, 0, "model_prediction_type"), "sigma_scaled",
                      "absent, so sd-scripts uses sigma_scaled; fluxgen always writes raw")
    shift = float(opts.given.get("discrete_flow_shift", 3.0))
    if out.values.get("train.timestep_sampling") == "shift" and shift != SD_SCRIPTS_FLOW_SHIFT:
        out.leave_out(opts.at("discrete_flow_shift"), shift, f"fluxgen writes {SD_SCRIPTS_FLOW_SHIFT} with shift "
                      "sampling")
    if opts.given.get("output_dir", "output") != "output":
        out.leave_out(opts.at("output_dir"), opts.given["output_dir"], "fluxgen writes into the run folder's output/")


def epochs(out: Imported, opts: Options) -> None:
    """sd-scripts counts max_train_epochs and save_every_n_epochs in passes over the dataset, and an epoch count
    overrides max_train_steps; fluxgen counts steps: epochs × ceil(images × repeats / batch size)."""
    from fluxgen.backends.sd_scripts.importer import saving

    total, every = opts.given.get("max_train_epochs"), opts.given.get("save_every_n_epochs")
    if not total and not every:
        return
    per_epoch = _steps_per_epoch(out)
    if total:
        if per_epoch is None:
            out.values.pop("train.steps", None)
            out.origins.pop("train.steps", None)
            out.leave_out(opts.at("max_train_epochs"), total, "fluxgen counts steps, and the image folder is not "
                          "here to count an epoch; the rules set train.steps")
        else:
            out.set("train.steps", total * per_epoch, f"{opts.at('max_train_epochs')} (max_train_epochs {total} × "
                    f"{per_epoch} steps per epoch)")
    saving(out, opts)
    if every and per_epoch is not None:
        out.set("save.every", every * per_epoch, f"{opts.at('save_every_n_epochs')} (save_every_n_epochs {every} × "
                f"{per_epoch} steps per epoch)")
    elif every:
        out.leave_out(opts.at("save_every_n_epochs"), every, "fluxgen saves every N steps, and the image folder is "
                      "not here to count an epoch")


def _steps_per_epoch(out: Imported) -> int | None:
    import math

    from fluxgen.backends import BACKENDS

    folder = Path(str(out.values.get("dataset.path", "")))
    if not out.values.get("dataset.path") or not folder.is_dir():
        return None
    extensions = BACKENDS["sd-scripts"].image_extensions
    images = sum(1 for f in folder.iterdir() if f.is_file() and f.suffix.lower() in extensions)
    repeats, batch = int(out.values.get("dataset.repeats", 1)), int(out.values.get("train.batch_size", 1))
    return math.ceil(images * repeats / batch) or None
