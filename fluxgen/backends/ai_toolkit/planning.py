"""ai-toolkit's planning hooks: its memory tiers, timestep default, accepted names and the values only it has."""

from __future__ import annotations

from fluxgen.backends.base import Planner
from fluxgen.rules import Resolver
from fluxgen.rules.memory import LARGE_TIER

# ai-toolkit's schedulers that take a warm-up (`num_warmup_steps` in lr_scheduler_params).
WARMUP_SCHEDULERS = ("constant_with_warmup", "cosine")
# fluxgen's loss names -> ai-toolkit's; any other name silently trains with MSE (SDTrainer.py:903-915).
LOSSES = {"mse": "mse", "mae": "mae", "huber": "pseudo_huber"}
EMA_DECAY = 0.99  # the decay of ai-toolkit's FLUX example (ref:ai-toolkit §3)


class AiToolkitPlanner(Planner):
    def network(self, r: Resolver) -> None:
        rank = r.values["rank"]
        if r.values["alpha"] != float(rank):
            r.warn(f"alpha {r.values['alpha']:g} ({r.origins['alpha']}) ≠ rank {rank}: ai-toolkit ignores alpha for "
                   "FLUX and trains with alpha = rank, so the config says so", "ref:ai-toolkit §0")
            r.set("alpha", float(rank), "ai-toolkit trains FLUX LoRAs with alpha = rank whatever the config says "
                  "(ref:ai-toolkit §0)")

    def timesteps(self, r: Resolver) -> None:
        r.take("timestep_sampling", "train.timestep_sampling", "sigmoid",
               "ai-toolkit's default timestep type for FLUX (ref:ai-toolkit §2.3)")

    def memory(self, r: Resolver, tier: int) -> None:
        r.set("quantize", tier < 48, "quantize the transformer to 8 bit below 48 GB, as ai-toolkit's 24 GB FLUX "
              "example (ref:ai-toolkit §3)" if tier < 48 else "no quantization needed at 48 GB or more (ref:ai-toolkit §3)")
        r.set("low_vram", tier < 24, "low_vram below 24 GB (ref:ai-toolkit §3)" if tier < 24 else
              "low_vram off at 24 GB or more (ref:ai-toolkit §3)")
        if tier >= LARGE_TIER:
            r.set("quantize_te", False, f"text encoders unquantized in bf16 on the GPU at {tier} GB: written out because "
                  "ai-toolkit quantizes them whenever the transformer is (quantize_te defaults to quantize, "
                  "toolkit/config_modules.py:686); unload_text_encoder and cache_text_embeddings stay off, so they "
                  "are never moved off the GPU (SDTrainer.py:351) (ref:ai-toolkit §2)")
            r.warn(f"{tier} GB, ai-toolkit: the text encoders stay on the GPU in bf16 (quantize_te: false; no "
                   "unload_text_encoder or cache_text_embeddings), so captions are encoded live each step and caption "
                   "dropout works", "ref:ai-toolkit §2", severity="info")
        r.take("optimizer", "train.optimizer", "adamw8bit", "AdamW 8-bit (seed:000, ref:ai-toolkit §3)")
        r.take("optimizer_args", "train.optimizer_args", {}, "optimizer defaults (seed:000)")
        if r.values["vram"] < 24:
            r.warn(f"{r.values['vram']} GB VRAM: ai-toolkit's FLUX configs are written for 24 GB; expect "
                   "out-of-memory or slow training (sd-scripts with block swapping fits smaller cards)", "seed:004")

    def settings(self, r: Resolver) -> None:
        r.take("ema", "train.ema", True, "EMA of the LoRA weights, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")
        r.take("ema_decay", "train.ema_decay", EMA_DECAY, "EMA decay of ai-toolkit's FLUX example (ref:ai-toolkit §3)")
        r.set("save_dtype", "float16", "LoRA files saved in float16, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")
        r.set("cache_latents", True, "latents cached to disk once, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")
        r.set("walk_seed", True, "prompt i samples with seed + i, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")

    def samples(self, r: Resolver) -> None:
        negatives = [r.values.get("sample_negative")] + [o.get("negative") for o in r.values.get("sample_prompt_options", [])]
        if any(negatives):
            r.warn("negative prompt: ai-toolkit samples FLUX.1 without one (its FLUX pipeline call leaves the negative "
                   "embeddings out unless model.use_flux_cfg, toolkit/stable_diffusion_model.py:1595-1629), so `neg` "
                   "is written but changes no sample image", "ref:ai-toolkit §2")

    def losses(self) -> dict[str, str]:
        return LOSSES

    def unsupported(self) -> dict[str, str]:
        return {"train.loss_type": "ai-toolkit has mse, mae and pseudo_huber; another name trains with MSE "
                "(SDTrainer.py:903-915)"}

    def choices(self) -> dict[str, tuple[str, ...]]:
        from fluxgen.knowledge import ai_toolkit_schema

        c = ai_toolkit_schema().choices
        return {"optimizer": c["optimizers"], "lr_scheduler": c["lr_schedulers"], "timestep_sampling": c["timestep_types"]}

    def accepts(self, key: str, value: str) -> bool:
        """ai-toolkit matches its adaptive optimizers by prefix (dadaptation…, prodigy…)."""
        return key == "optimizer" and value.lower().startswith(("dadaptation", "prodigy"))

    def capabilities(self, r: Resolver) -> None:
        super().capabilities(r)
        if r.values["warmup_steps"] and r.values["lr_scheduler"] not in WARMUP_SCHEDULERS:
            r.warn(f"ai-toolkit's '{r.values['lr_scheduler']}' scheduler takes no warm-up; the "
                   f"{r.values['warmup_steps']} warm-up steps ({r.origins['warmup_steps']}) are dropped",
                   "ref:ai-toolkit §2.3")
            r.set("warmup_steps", 0, f"ai-toolkit's '{r.values['lr_scheduler']}' scheduler has no warm-up")


PLANNER = AiToolkitPlanner()
