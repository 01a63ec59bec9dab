"""sd-scripts' planning hooks: its VRAM table, FLUX timestep recipe, single model files, text-encoder cache, the
folder it reads, accepted names and the values only it has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fluxgen.backends.base import Planner
from fluxgen.errors import UserError
from fluxgen.rules import Resolver
from fluxgen.rules.memory import LARGE_TIER
from fluxgen.rules.model import DIFFUSERS_FILES, HUB_FILES, TEXT_ENCODERS_REPO

ADAFACTOR_ARGS = {"relative_step": False, "scale_parameter": False, "warmup_init": False}
# sd-scripts' VRAM table: blocks to swap per tier (ref:sd-scripts §7).
SWAP_BY_TIER = {12: 16, 10: 22, 8: 28}
# sd-scripts' documented FLUX recipe (ref:sd-scripts §7): shift sampling with this flow shift, raw prediction.
FLOW_SHIFT = 3.1582
# fluxgen's loss names -> sd-scripts' --loss_type (library/train_util.py:4132); FLUX LoRAs use it through
# train_network.py:468 (conditional_loss).
LOSSES = {"mse": "l2", "mae": "l1", "huber": "huber", "smooth_l1": "smooth_l1"}


class SdScriptsPlanner(Planner):
    def timesteps(self, r: Resolver) -> None:
        r.take("timestep_sampling", "train.timestep_sampling", "shift",
               "shift timestep sampling, the documented FLUX setting (ref:sd-scripts §7)")
        if r.values["timestep_sampling"] == "shift":
            r.set("discrete_flow_shift", FLOW_SHIFT, "flow shift of the documented FLUX setting (ref:sd-scripts §7)")
        r.set("model_prediction_type", "raw", "raw prediction, the documented FLUX setting (ref:sd-scripts §7)")

    def memory(self, r: Resolver, tier: int) -> None:
        _memory(r, tier)

    def captions(self, r: Resolver) -> None:
        _text_cache(r)

    def model(self, r: Resolver, kind: str, location: str) -> None:
        _single_files(r, kind, location)

    def dataset(self, r: Resolver, report: Any, folder: Path) -> None:
        _top_level_only(r, report, folder)

    def datasets(self, r: Resolver, folders: list[Any]) -> None:
        """Masked folders must be every subset of their dataset block, none of them is_reg (ConfigSanitizer)."""
        from fluxgen.backends.sd_scripts.subsets import refuse

        refuse(folders)

    def settings(self, r: Resolver) -> None:
        r.set("save_state", True, "training state saved with each checkpoint so `fluxgen resume` can continue "
              "(ref:sd-scripts §5)")
        r.set("keep_states", 2, "only the newest two training states are kept: each is as large as the LoRA plus "
              "the optimizer (ref:sd-scripts §5)")
        low, high = min(r.values["resolution"]), max(r.values["resolution"])
        r.set("bucket_no_upscale", True, "buckets never upscale small images (seed:001)")
        r.set("min_bucket_reso", min(256, low), "sd-scripts' default smallest bucket side 256, or the resolution if "
              "smaller: sd-scripts requires min_bucket_reso ≤ resolution (ref:sd-scripts §2)")
        r.set("max_bucket_reso", max(min(2 * high, 2048), high), "largest bucket side: twice the resolution, at "
              "most 2048, never below the resolution (ref:sd-scripts §2)")
        r.set("bucket_reso_steps", 64, "FLUX buckets need sides divisible by 64 (ref:sd-scripts §2)")
        r.set("persistent_workers", r.values["workers"] > 0, "keep data-loader workers between epochs "
              "(ref:sd-scripts §7)")

    def unsupported(self) -> dict[str, str]:
        """flux_train_network.py has no EMA option for a LoRA (ref:sd-scripts §1)."""
        reason = "flux_train_network.py has no EMA option (ref:sd-scripts §1)"
        return {"train.ema": reason, "train.ema_decay": reason,
                "train.noise_offset": "flux_train_network.py draws plain Gaussian noise for FLUX "
                "(flux_train_network.py:327) and never reads --noise_offset, which only the SD/SDXL noise path applies "
                "(library/train_util.py:6076)"}

    def losses(self) -> dict[str, str]:
        return LOSSES

    def samples(self, r: Resolver) -> None:
        negatives = [r.values.get("sample_negative")] + [o.get("negative") for o in r.values.get("sample_prompt_options", [])]
        if any(negatives):
            r.warn("negative prompt: sd-scripts uses --n only with real CFG (a --l scale other than 1.0, its default "
                   "for FLUX) and otherwise logs \"negative prompt is ignored because scale is 1.0\" "
                   "(library/flux_train_utils.py:183-186); the samples are drawn without it", "ref:sd-scripts §6")

    def choices(self) -> dict[str, tuple[str, ...]]:
        from fluxgen.knowledge import sd_scripts_args

        args = sd_scripts_args()
        return {"optimizer": args["optimizer_type"].known_values, "lr_scheduler": args["lr_scheduler"].known_values,
                "timestep_sampling": args["timestep_sampling"].choices}

    def accepts(self, key: str, value: str) -> bool:
        """sd-scripts imports an optimizer given as a full class path."""
        return key == "optimizer" and "." in value


PLANNER = SdScriptsPlanner()


def _memory(r: Resolver, tier: int) -> None:
    r.set("fp8_base", tier < 48, "fp8 base model below 48 GB, as sd-scripts' VRAM table assumes (ref:sd-scripts §7)"
          if tier < 48 else "full-precision base at 48 GB or more (ref:sd-scripts §7)")
    if r.values["fp8_base"] and r.values["precision"] == "fp32":
        r.set("fp8_base", False, "fp8 base needs bf16/fp16 mixed precision; training in fp32 (ref:sd-scripts §10)")
        r.warn("fp32 training below 48 GB without fp8: expect out-of-memory; bf16 is the guides' choice", "seed:001")
    swap = SWAP_BY_TIER.get(tier)
    if swap:
        r.set("blocks_to_swap", swap, f"swap {swap} blocks to CPU at {tier} GB (ref:sd-scripts §7)")
    if tier == 16:
        r.take("optimizer", "train.optimizer", "adafactor", "Adafactor at 16 GB (ref:sd-scripts §7)")
        r.warn("16 GB: if it still runs out of memory, sd-scripts' docs add block swapping "
               "(--vram 12 renders blocks_to_swap 16)", "ref:sd-scripts §7", severity="info")
    else:
        r.take("optimizer", "train.optimizer", "adamw8bit", "AdamW 8-bit (seed:000, ref:sd-scripts §7)")
    is_adafactor = r.values["optimizer"].lower() == "adafactor"
    r.take("optimizer_args", "train.optimizer_args", dict(ADAFACTOR_ARGS) if is_adafactor else {},
           "Adafactor with a fixed LR (ref:sd-scripts §7, seed:001)" if is_adafactor else "optimizer defaults")
    if is_adafactor and tier <= 16 and not r.is_given("train.scheduler"):
        r.set("lr_scheduler", "constant_with_warmup", "Adafactor's documented schedule (ref:sd-scripts §7)")
        if not r.is_given("train.warmup_steps"):
            warmup = min(50, max(1, r.values["steps"] // 10))
            r.set("warmup_steps", warmup, f"{warmup} warm-up steps for constant_with_warmup (without any it is a "
                  "constant schedule): seed:001's Adafactor recipe warms up for 50 steps, at most a tenth of the run")
    r.set("max_grad_norm", 0.0 if is_adafactor and tier <= 16 else 1.0,
          "no gradient clipping with the documented Adafactor setting (ref:sd-scripts §7)" if is_adafactor and tier <= 16
          else "clip gradients at 1.0, sd-scripts' default (ref:sd-scripts §1.2)")
    if tier <= 10:
        r.warn(f"{tier} GB: use an fp8 T5-XXL (t5xxl_fp8_e4m3fn.safetensors)", "ref:sd-scripts §7", severity="info")
    r.set("cache_latents", True, "cache latents to disk once (ref:sd-scripts §7)")
    if tier >= LARGE_TIER:
        r.set("highvram", True, f"--highvram at {tier} GB: caching keeps its memory instead of freeing it after each "
              "batch (library/train_util.py:3116, 4408-4411), as the 24 GB sample command of ref:sd-scripts §7")


def _text_cache(r: Resolver) -> None:
    """sd-scripts refuses cached text-encoder outputs together with caption dropout or shuffling (ref:sd-scripts §10)."""
    needs_live_te = r.values["train_text_encoder"] or r.values["shuffle_captions"]
    dropout_given = r.is_given("train.caption_dropout")
    if r.values["vram_tier"] >= LARGE_TIER and r.values["caption_dropout"] != 0.0:
        r.set("cache_text_embeddings", False, f"{r.values['vram']} GB: the text encoders stay on the GPU and encode "
              "each batch (flux_train_network.py:286-290), so caption dropout works; caching would move them back to "
              "the CPU (flux_train_network.py:274-279) (ref:sd-scripts §10)")
        r.warn(f"{r.values['vram']} GB, sd-scripts: the text encoders stay on the GPU and encode each batch (no "
               "--cache_text_encoder_outputs), so caption dropout stays at "
               f"{r.values['caption_dropout']:g} like ai-toolkit's; --highvram keeps memory while caching latents",
               "ref:sd-scripts §7, ref:sd-scripts §10", severity="info")
        return
    if not needs_live_te and not dropout_given and r.kind != "style":
        r.set("caption_dropout", 0.0, "no caption dropout so text-encoder outputs can be cached (ref:sd-scripts §10)")
        r.warn("caption dropout 0 (ai-toolkit plans 0.05): sd-scripts cannot cache text-encoder outputs with caption "
               "dropout, and caching frees the text encoders' VRAM and time every step. To prefer dropout over "
               "caching (the LoRA then also learns to work without its caption), --set train.caption_dropout=0.05",
               "ref:sd-scripts §10, ref:ai-toolkit §3", severity="info")
    cache = not needs_live_te and r.values["caption_dropout"] == 0.0
    why = ("cache text-encoder outputs to free VRAM (ref:sd-scripts §7)" if cache else
           "text-encoder outputs not cached: caption dropout, shuffling or text-encoder training need them live "
           "(ref:sd-scripts §10)")
    r.set("cache_text_embeddings", cache, why)


def _single_files(r: Resolver, kind: str, location: str) -> None:
    t5 = "t5xxl_fp8_e4m3fn.safetensors" if r.values["vram_tier"] <= 10 else "t5xxl_fp16.safetensors"
    defaults = dict(HUB_FILES.get(kind, HUB_FILES["dev"]))
    defaults["clip_l"] = f"hf://{TEXT_ENCODERS_REPO}/clip_l.safetensors"
    defaults["t5xxl"] = f"hf://{TEXT_ENCODERS_REPO}/{t5}"
    for part in ("transformer", "clip_l", "t5xxl", "ae"):
        if r.is_given(f"model.{part}"):
            value = r.take(f"model.{part}", f"model.{part}", None, "")
        elif kind == "local":
            value = r.set(f"model.{part}", _component_file(location, part),
                          "the diffusers folder's component file (ref:sd-scripts §1.2)")
        elif kind == "hub" and part in ("transformer", "ae"):
            raise UserError(f"model.base '{location}': sd-scripts reads single files, and fluxgen knows them only for "
                            "FLUX.1 dev and schnell; pass --set model.transformer=PATH --set model.ae=PATH")
        else:
            value = r.set(f"model.{part}", defaults[part], "the file the hub publishes for this base, resolved from "
                          "the Hugging Face cache when training (ref:sd-scripts §8)")
        if not value.startswith("hf://"):
            r.values[f"model.{part}"] = str(Path(value).expanduser().resolve())


def _component_file(folder: str, part: str) -> str:
    """The single safetensors file of one component; sharded components cannot be handed to sd-scripts."""
    path = Path(folder) / DIFFUSERS_FILES[part]
    if path.is_file():
        return str(path)
    shards = list(path.parent.glob("*.safetensors.index.json"))
    why = "is sharded into several files" if shards else "has no single file"
    raise UserError(f"{path.parent}: the {part} component {why} ({path.name}); sd-scripts reads single files: "
                    f"pass --set model.{part}=PATH")


def _top_level_only(r: Resolver, report: Any, folder: Path) -> None:
    """sd-scripts reads the images directly in image_dir, not in its subfolders (ref:sd-scripts §2)."""
    loadable = [f for f in report.facts if f.ok and Path(f.rel).suffix.lower() in report.context.extensions]
    nested = [f.rel for f in loadable if "/" in f.rel.replace("\\", "/")]
    if not nested:
        return
    top = len(loadable) - len(nested)
    if top == 0:
        raise UserError(f"{folder}: all {len(nested)} images are in subfolders (e.g. {nested[0]}), and sd-scripts reads "
                        "only the images directly in image_dir; pass the subfolder as --images, or flatten it with "
                        "`fluxgen dataset prepare`")
    r.set("images", top, f"images directly in {folder}: sd-scripts does not read subfolders (ref:sd-scripts §2)")
    r.warn(f"{len(nested)} images in subfolders of {folder} (e.g. {nested[0]}) are not read by sd-scripts",
           "ref:sd-scripts §2")
