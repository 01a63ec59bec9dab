"""VRAM tiers → each backend's memory settings and optimizer (ref:sd-scripts §7, ref:ai-toolkit §3, seed:004)."""

from __future__ import annotations

from pathlib import Path

from fluxgen.errors import UserError
from fluxgen.rules import Resolver

TIERS = (8, 10, 12, 16, 24, 48, 80)
ADAFACTOR_ARGS = {"relative_step": False, "scale_parameter": False, "warmup_init": False}
# sd-scripts' VRAM table: blocks to swap per tier (ref:sd-scripts §7).
SWAP_BY_TIER = {12: 16, 10: 22, 8: 28}


def tier_of(vram: int) -> int:
    """The largest documented tier not above the given VRAM (below 8 GB: the 8 GB tier)."""
    fitting = [t for t in TIERS if t <= vram]
    return fitting[-1] if fitting else TIERS[0]


def plan_memory(r: Resolver) -> None:
    vram = r.take("vram", "vram", 24, "24 GB, the guides' minimum for FLUX LoRA training (seed:004)")
    if vram < TIERS[0]:
        r.warn(f"{vram} GB VRAM is below the smallest documented tier ({TIERS[0]} GB); the plan uses the {TIERS[0]} GB "
               "settings, which may still run out of memory (ref:sd-scripts §7)", "ref:sd-scripts §7")
    tier = r.set("vram_tier", tier_of(vram), f"documented tier for {vram} GB (ref:sd-scripts §7)")
    if r.backend == "ai-toolkit":
        _ai_toolkit(r, tier)
    elif r.backend == "sd-scripts":
        _sd_scripts(r, tier)
    else:
        r.take("optimizer", "train.optimizer", "adamw", "AdamW: runs everywhere, CPU included (seed:004)")
        r.take("optimizer_args", "train.optimizer_args", {}, "optimizer defaults (seed:004)")
        if r.values["optimizer_args"]:
            names = ", ".join(sorted(map(str, r.values["optimizer_args"])))
            r.warn(f"train.optimizer_args ({names}): the builtin trainer runs AdamW with its defaults and takes no "
                   "optimizer arguments, so these are not used; ai-toolkit and sd-scripts pass them on",
                   "builtin trainer")
        if r.values.get("train_text_encoder"):
            raise UserError(f"network.train_text_encoder ({r.origins['train_text_encoder']}): the builtin trainer "
                            "trains the transformer only; set it to false, or use ai-toolkit or sd-scripts")
        base = str(r.given("model.base") or "dev")
        if tier < 48 and not Path(base).expanduser().is_dir():
            r.warn(f"{r.values['vram']} GB: the builtin trainer does not quantize, and FLUX.1 dev in bf16 needs about "
                   "40-48 GB; use ai-toolkit or sd-scripts on smaller cards", "builtin trainer")


def _ai_toolkit(r: Resolver, tier: int) -> None:
    r.set("quantize", tier < 48, "quantize the transformer to 8 bit below 48 GB, as ai-toolkit's 24 GB FLUX example "
          "(ref:ai-toolkit §3)" if tier < 48 else "no quantization needed at 48 GB or more (ref:ai-toolkit §3)")
    r.set("low_vram", tier < 24, "low_vram below 24 GB (ref:ai-toolkit §3)" if tier < 24 else
          "low_vram off at 24 GB or more (ref:ai-toolkit §3)")
    r.take("optimizer", "train.optimizer", "adamw8bit", "AdamW 8-bit (seed:000, ref:ai-toolkit §3)")
    r.take("optimizer_args", "train.optimizer_args", {}, "optimizer defaults (seed:000)")
    if r.values["vram"] < 24:
        r.warn(f"{r.values['vram']} GB VRAM: ai-toolkit's FLUX configs are written for 24 GB; expect out-of-memory "
               "or slow training (sd-scripts with block swapping fits smaller cards)", "seed:004")


def _sd_scripts(r: Resolver, tier: int) -> None:
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
    r.set("max_grad_norm", 0.0 if is_adafactor and tier <= 16 else 1.0,
          "no gradient clipping with the documented Adafactor setting (ref:sd-scripts §7)" if is_adafactor and tier <= 16
          else "clip gradients at 1.0, sd-scripts' default (ref:sd-scripts §1.2)")
    if tier <= 10:
        r.warn(f"{tier} GB: use an fp8 T5-XXL (t5xxl_fp8_e4m3fn.safetensors)", "ref:sd-scripts §7", severity="info")
    r.set("cache_latents", True, "cache latents to disk once (ref:sd-scripts §7)")
