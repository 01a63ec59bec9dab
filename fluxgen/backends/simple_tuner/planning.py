"""Plan values only SimpleTuner has: its quantisation per VRAM tier, its optimizer and scheduler names, its
bucketing. Each cites SimpleTuner's FLUX quickstart (`st:FLUX` = documentation/quickstart/FLUX.md at 4.10.1) or the
code of the pinned package (`st:<module>`)."""

from __future__ import annotations

from typing import Any

from fluxgen.backends.base import Planner
from fluxgen.errors import UserError
from fluxgen.rules import Resolver

# VRAM tier -> base_model_precision. st:FLUX: a rank-16 FLUX LoRA needs a bit over 30 GB unquantised, 18 GB with
# int8, 13 GB with int4, 9 GB with NF4; the absolute minimum is a 10 GB card.
PRECISION_BY_TIER = {80: "no_change", 48: "no_change", 24: "int8-quanto", 16: "int4-quanto", 12: "nf4-bnb",
                     10: "nf4-bnb", 8: "nf4-bnb"}
# fluxgen's optimizer names (the ones ai-toolkit and sd-scripts use) -> SimpleTuner's (st:optimizer_param).
OPTIMIZERS = {"adamw": "adamw_bf16", "adamw8bit": "bnb-adamw8bit", "adafactor": "torch-adafactor", "prodigy": "prodigy",
              "lion": "bnb-lion", "lion8bit": "bnb-lion8bit"}
MIXED_PRECISION = {"bf16": "bf16", "fp16": "fp16", "fp32": "no", "auto": "bf16"}
# FLUX latents are 8x downsampled and packed 2x2, so bucket sides are multiples of 64 (st:multiaspect).
BUCKET_STEP = 64


SCHEDULERS = ("linear", "sine", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup")
# fluxgen's timestep samplers SimpleTuner has for FLUX: sigmoid (its default) and uniform (st:cmd_args).
TIMESTEPS = ("sigmoid", "uniform")
# fluxgen's loss names -> SimpleTuner's loss_type choices (st:cmd_args: l2, huber, smooth_l1).
LOSSES = {"mse": "l2", "huber": "huber", "smooth_l1": "smooth_l1"}


def timesteps(r: Any) -> None:
    r.take("timestep_sampling", "train.timestep_sampling", "sigmoid",
           "sigmoid timestep sampling, SimpleTuner's default for flow-matching models (st:cmd_args)")


def memory(r: Any, tier: int) -> None:
    """Quantisation per tier from the FLUX quickstart's VRAM figures; AdamW in bf16, SimpleTuner's default."""
    precision = PRECISION_BY_TIER[tier]
    r.set("base_model_precision", precision, _precision_reason(tier, precision))
    r.take("optimizer", "train.optimizer", "adamw", "AdamW, as SimpleTuner's FLUX example (adamw_bf16) (st:examples)")
    r.take("optimizer_args", "train.optimizer_args", {}, "optimizer defaults (st:optimizer_param)")
    if tier >= 80:
        r.warn(f"{r.values['vram']} GB, SimpleTuner: nothing quantised (base_model_precision no_change, the text "
               "encoders no_change); SimpleTuner encodes captions once into its text-embed cache before training "
               "(the text_embeds dataset of multidatabackend.json), so there is no setting that keeps the text "
               "encoders in use on the GPU", "st:FLUX", severity="info")
    if tier <= 8:
        r.warn(f"{r.values['vram']} GB: SimpleTuner's FLUX guide names a 10 GB card as the absolute minimum even "
               "with NF4; expect out-of-memory", "st:FLUX")


def settings(r: Any) -> None:
    """SimpleTuner's own values; the common rules have set the generic ones already."""
    chosen = r.values.get("optimizer", "adamw")
    named = OPTIMIZERS.get(chosen, chosen)
    if named == "adamw_bf16" and r.values["precision"] not in ("bf16", "auto"):
        named = "optimi-adamw"  # adamw_bf16 keeps its state in bf16; an fp32/fp16 run gets optimi's AdamW
    r.set("st_optimizer", named, f"SimpleTuner's name for {chosen} (st:optimizer_param)" if chosen in OPTIMIZERS
          else "given as SimpleTuner's own optimizer name")
    r.set("mixed_precision", MIXED_PRECISION[r.values["precision"]],
          "SimpleTuner's mixed_precision for the plan's precision (st:cmd_args)")
    r.set("resolution_type", "pixel_area", "resolution is the side of a square of the same area, as ai-toolkit "
          "and sd-scripts read it; buckets keep the aspect ratio (st:multiaspect)")
    r.set("bucket_step", BUCKET_STEP, "FLUX buckets align to 64 px (st:multiaspect)")
    if r.values["caption_mode"] == "none":
        r.set("caption_dropout", 1.0, "no captions: SimpleTuner refuses an empty instance prompt, so the name stands "
              "in as one and every caption is dropped (st:prompts)")
    _check_placeholders(r.values)


def ema(r: Any) -> None:
    """EMA only when the intent asks (SimpleTuner's use_ema is off by default, st:cmd_args), so plans keep their hash."""
    if not (r.is_given("train.ema") or r.is_given("train.ema_decay")):
        return
    on = r.take("ema", "train.ema", False, "")
    if r.is_given("train.ema_decay"):
        if not on:
            where = r.layered.origins.get("train.ema_decay", "intent")
            raise UserError(f"{where}: train.ema_decay: EMA is off, so it has no decay; set train.ema: true too, "
                            "or remove it")
        r.take("ema_decay", "train.ema_decay", None, "")


def choices() -> dict[str, tuple[str, ...]]:
    from fluxgen.backends.simple_tuner.keys import KEYS

    names = tuple(OPTIMIZERS) + tuple(n for n in KEYS["optimizers"]["names"] if n not in OPTIMIZERS)
    return {"optimizer": names, "lr_scheduler": SCHEDULERS, "timestep_sampling": TIMESTEPS}


def plan_settings(r: Any) -> None:
    """All of the above in the order the common rules call them (memory after the VRAM tier is known)."""
    timesteps(r)
    memory(r, r.values["vram_tier"])
    settings(r)


def _precision_reason(tier: int, precision: str) -> str:
    if precision == "no_change":
        return f"no quantisation at {tier} GB: FLUX.1 LoRA training needs a bit over 30 GB unquantised (st:FLUX)"
    needs = {"int8-quanto": 18, "int4-quanto": 13, "nf4-bnb": 9}[precision]
    return f"{precision} at {tier} GB: a FLUX.1 LoRA needs a bit over {needs} GB with it (st:FLUX)"


def _check_placeholders(values: dict[str, Any]) -> None:
    """SimpleTuner replaces `{env:NAME}` in every config value with the variable's value (st:template_vars)."""
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and "{env:" in item:
                raise UserError(f"{key}: '{item}' contains '{{env:', which SimpleTuner replaces with an "
                                "environment variable; remove it")


# What SimpleTuner 4.10.1 cannot do of the intent, each with where its code says so.
UNSUPPORTED = {
    "train.noise_offset": "SimpleTuner adds offset noise only to models that are not flow-matching "
    "(helpers/models/common.py:5910), and FLUX is one",
    "train.loss_type": "SimpleTuner's loss_type choices are l2, huber and smooth_l1 (st:cmd_args)",
    "network.blocks": "flux_lora_target picks layer types that single and double blocks alike get "
    "(helpers/training/adapter.py:57-135); name the modules in trainer.simpletuner peft_lora_target_modules instead",
    "train.text_encoder_lr": "its parser reads --text_encoder_lr as an integer (the field's only bound is the int 0, "
    "helpers/configuration/cmd_args.py:443-463), so a learning rate below 1 is refused",
    "train.shuffle_captions": "it shuffles no caption per step: its text embeds are cached once, and a dataset's "
    "caption_shuffle only adds fixed shuffled variants to that cache (helpers/prompts.py:175-199)",
    "dataset.masks": "SimpleTuner weights the loss by a mask only through a second dataset with conditioning_type "
    "mask (helpers/data_backend/factory.py:3287), which fluxgen does not render; use ai-toolkit or sd-scripts",
}


# Lighter base_model_precision after an out-of-memory, in the order st:FLUX lists their VRAM needs.
LIGHTER = ("int8-quanto", "int4-quanto", "nf4-bnb", "int2-quanto")


def low_vram_advice(values: dict[str, Any], phase: str | None) -> list[str]:
    """Settings to try after an out-of-memory, lightest change first (st:FLUX)."""
    advice = []
    current = values.get("base_model_precision", "no_change")
    order = ("no_change", *LIGHTER)
    lighter = order[order.index(current) + 1:] if current in order else LIGHTER
    if lighter:
        advice.append(f"`base_model_precision: {lighter[0]}` (now {current}): the base model quantised further")
    if phase in (None, "training") and not values.get("gradient_checkpointing", True):
        advice.append("`gradient_checkpointing: true`")
    if max(values.get("resolution", [1024])) > 512:
        advice.append("`--set train.resolution=[512]`: a quarter of the activations")
    if values.get("batch_size", 1) > 1:
        advice.append("`--set train.batch_size=1`")
    return advice


class SimpleTunerPlanner(Planner):
    """The hooks the common rules call, in their order."""

    def timesteps(self, r: Resolver) -> None:
        timesteps(r)

    def memory(self, r: Resolver, tier: int) -> None:
        memory(r, tier)

    def settings(self, r: Resolver) -> None:
        settings(r)
        ema(r)
        if r.given("train.workers"):  # a preset's hint for other trainers: said, not refused
            r.warn(f"train.workers {r.given('train.workers')}: SimpleTuner's training data loader runs with "
                   "num_workers=0 (helpers/data_backend/factory.py:3591), so it is not used", "st:data_backend")

    def datasets(self, r: Resolver, folders: list[Any]) -> None:
        """An image dataset's text-file captions are `<image>.txt` whatever its caption_file_extensions says
        (st:prompts, prepare_instance_prompt_from_textfile), so another extension would stop the run."""
        for folder in folders:
            if folder.caption_mode == "captions" and folder.caption_ext != ".txt":
                key = folder.key.replace(".path", ".caption_ext")
                raise UserError(f"{key} {folder.caption_ext}: SimpleTuner reads an image's caption from "
                                "<image>.txt only; rename the captions to .txt, or train with ai-toolkit or sd-scripts")

    def choices(self) -> dict[str, tuple[str, ...]]:
        return choices()

    def losses(self) -> dict[str, str]:
        return LOSSES

    def unsupported(self) -> dict[str, str]:
        return UNSUPPORTED

    def samples(self, r: Resolver) -> None:
        """SimpleTuner's validation settings are global; its prompt library holds prompt texts only."""
        options = r.values.get("sample_prompt_options")
        if options:
            where = r.origins["sample_prompt_options"]
            keys = sorted({k for o in options for k in o})
            raise UserError(f"{where}: samples.prompts: SimpleTuner cannot sample a prompt with its own "
                            f"{', '.join(keys)} (its validation settings are global and user_prompt_library holds "
                            "prompt texts only); write the prompts as strings and use samples.negative, samples.steps…")
        r.warn("negative prompt: SimpleTuner uses validation_negative_prompt for FLUX only with real CFG "
               "(validation_guidance_real above 1.0, its default 1.0; helpers/models/flux/model.py:457-460), so the "
               "samples are drawn without it", "st:flux")


PLANNER = SimpleTunerPlanner()
