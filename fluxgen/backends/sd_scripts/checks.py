"""sd-scripts option conflicts and FLUX pitfalls (reference sd-scripts.md §1.2, §10, seed:000, seed:001), one
function per rule so each can be tested alone. Rules about what is missing run only when every option is known."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fluxgen.backends.sd_scripts.args import SdArgs
from fluxgen.backends.sd_scripts.values import split_network_args
from fluxgen.knowledge import sd_scripts_facts
from fluxgen.validate.report import Finding

Rule = Callable[[SdArgs], list[Finding]]
CAPTION_OPTIONS = ("shuffle_caption", "caption_dropout_rate", "token_warmup_step", "caption_tag_dropout_rate")


def one(severity: str, path: str, message: str, fix: str, rule: str) -> list[Finding]:
    return [Finding(severity, path, message, fix, rule)]


def caches_text_encoder(a: SdArgs) -> bool:
    return bool(a.get("cache_text_encoder_outputs") or a.get("cache_text_encoder_outputs_to_disk"))


def caches_latents(a: SdArgs) -> bool:
    return bool(a.get("cache_latents") or a.get("cache_latents_to_disk"))


def rule_te_cache_captions(a: SdArgs) -> list[Finding]:
    if not caches_text_encoder(a):
        return []
    used = [n for n in CAPTION_OPTIONS if a.has(n) and a.get(n)]
    return [Finding("error", a.path(n), "cannot be used while caching text encoder outputs; sd-scripts stops with "
                    "an AssertionError", "remove it, or drop --cache_text_encoder_outputs", "sd-te-cache-captions")
            for n in used]


def rule_te_cache_t5(a: SdArgs) -> list[Finding]:
    if caches_text_encoder(a) and split_network_args(a).get("train_t5xxl") == "True":
        return one("error", a.path("network_args"), "train_t5xxl=True trains T5, so text encoder outputs cannot be "
                   "cached; sd-scripts stops with a ValueError", "drop --cache_text_encoder_outputs", "sd-te-cache-t5")
    return []


def rule_te_cache_notes(a: SdArgs) -> list[Finding]:
    out: list[Finding] = []
    if a.get("cache_text_encoder_outputs_to_disk") and not a.get("cache_text_encoder_outputs"):
        out += one("info", a.path("cache_text_encoder_outputs_to_disk"), "switches --cache_text_encoder_outputs on "
                   "by itself", "", "sd-implied-option")
    if a.get("cache_latents_to_disk") and not a.get("cache_latents"):
        out += one("info", a.path("cache_latents_to_disk"), "switches --cache_latents on by itself", "",
                   "sd-implied-option")
    if caches_text_encoder(a) and not a.get("network_train_unet_only") and a.complete:
        out += one("info", a.path("cache_text_encoder_outputs"), "CLIP-L is trained, so only T5 outputs are cached; "
                   "CLIP-L still runs every step", "", "sd-te-cache-partial")
    return out


def rule_latent_cache_aug(a: SdArgs) -> list[Finding]:
    if not caches_latents(a):
        return []
    return [Finding("error", a.path(n), "cannot be used while caching latents; sd-scripts stops with an "
                    "AssertionError", "remove it, or stop caching latents", "sd-latent-cache-aug")
            for n in ("color_aug", "random_crop") if a.get(n)]


def rule_block_swap(a: SdArgs) -> list[Finding]:
    swap = a.get("blocks_to_swap")
    if not isinstance(swap, int):
        return []
    if a.get("cpu_offload_checkpointing"):
        return one("error", a.path("cpu_offload_checkpointing"), "cannot be combined with --blocks_to_swap; "
                   "sd-scripts stops with an AssertionError", "keep one of the two", "sd-block-swap")
    if swap > 35:
        return one("error", a.path("blocks_to_swap"), f"{swap} is more than FLUX.1 can swap (35 at most)",
                   "use --blocks_to_swap 35 or less", "sd-block-swap")
    return []


def rule_split_mode(a: SdArgs) -> list[Finding]:
    if not a.get("split_mode"):
        return []
    effect = "ignored because --blocks_to_swap is set" if a.has("blocks_to_swap") else "turned into --blocks_to_swap 18"
    return one("warning", a.path("split_mode"), f"deprecated; {effect}", "use --blocks_to_swap instead", "sd-split-mode")


def rule_fp8(a: SdArgs) -> list[Finding]:
    if (a.get("fp8_base") or a.get("fp8_base_unet")) and a.get("mixed_precision") == "no":
        name = "fp8_base" if a.get("fp8_base") else "fp8_base_unet"
        return one("error", a.path(name), "needs --mixed_precision fp16 or bf16; sd-scripts stops with an "
                   "AssertionError", "add --mixed_precision bf16", "sd-fp8-precision")
    return []


def rule_full_precision(a: SdArgs) -> list[Finding]:
    out: list[Finding] = []
    for flag, needed in (("full_fp16", "fp16"), ("full_bf16", "bf16")):
        if a.get(flag) and a.get("mixed_precision") != needed:
            out += one("error", a.path(flag), f"needs --mixed_precision {needed}; sd-scripts stops with an "
                       "AssertionError", f"add --mixed_precision {needed}", "sd-full-precision")
    return out


def rule_chroma(a: SdArgs) -> list[Finding]:
    if a.get("model_type") == "chroma" and not a.get("apply_t5_attn_mask"):
        return one("error", a.path("model_type"), "Chroma needs --apply_t5_attn_mask; sd-scripts stops with an "
                   "AssertionError", "add --apply_t5_attn_mask", "sd-chroma-mask")
    return []


def rule_optimizer_flags(a: SdArgs) -> list[Finding]:
    if not a.get("optimizer_type"):
        return []
    return [Finding("error", a.path(n), "cannot be combined with --optimizer_type; sd-scripts stops with an "
                    "AssertionError", f"remove --{n}", "sd-optimizer-flags")
            for n in ("use_8bit_adam", "use_lion_optimizer") if a.get(n)]


def rule_fused_backward(a: SdArgs) -> list[Finding]:
    if not a.get("fused_backward_pass"):
        return []
    if str(a.get("optimizer_type")).lower() != "adafactor" or (a.get("gradient_accumulation_steps") or 1) > 1:
        return one("error", a.path("fused_backward_pass"), "works only with Adafactor and without gradient "
                   "accumulation; sd-scripts stops with an AssertionError", "use --optimizer_type adafactor and "
                   "--gradient_accumulation_steps 1, or drop it", "sd-fused-backward")
    return []


def rule_adaptive_noise(a: SdArgs) -> list[Finding]:
    if a.get("adaptive_noise_scale") is not None and a.get("noise_offset") is None:
        return one("error", a.path("adaptive_noise_scale"), "needs --noise_offset; sd-scripts stops with a ValueError",
                   "add --noise_offset", "sd-adaptive-noise")
    return []


def rule_log_with(a: SdArgs) -> list[Finding]:
    if a.get("log_with") in {"tensorboard", "all"} and not a.get("logging_dir"):
        return one("error", a.path("log_with"), "tensorboard logging needs --logging_dir; sd-scripts stops with a "
                   "ValueError", "add --logging_dir logs", "sd-log-with")
    return []


def rule_dataset_dirs(a: SdArgs) -> list[Finding]:
    if not a.get("dataset_config"):
        return []
    return [Finding("warning", a.path(n), "ignored because --dataset_config is given", f"remove --{n}",
                    "sd-dataset-dirs") for n in ("train_data_dir", "reg_data_dir", "in_json") if a.get(n)]


def rule_flux_unused(a: SdArgs) -> list[Finding]:
    out: list[Finding] = []
    facts = sd_scripts_facts()
    for name in facts.flux_unused:
        if a.has(name) and a.get(name) not in (None, False):
            severity = "info" if name == "sdpa" else "warning"
            fix = {"max_token_length": "use --t5xxl_max_token_length for T5", "sdpa": ""}.get(name, f"remove --{name}")
            out += one(severity, a.path(name), "accepted but not used when training FLUX", fix, "sd-flux-unused")
    return out


# Noise options only the SD/SDXL noise path reads (library/train_util.py:6076-6085, called from train_network.py:276);
# FLUX overrides that step and draws plain Gaussian noise (flux_train_network.py:312-333).
FLUX_IGNORED_NOISE = ("noise_offset", "noise_offset_random_strength", "multires_noise_iterations",
                      "multires_noise_discount")


def rule_flux_noise(a: SdArgs) -> list[Finding]:
    out: list[Finding] = []
    for name in FLUX_IGNORED_NOISE:
        if a.has(name) and a.get(name) not in (None, False, 0, 0.0):
            out += one("warning", a.path(name), "not used when training FLUX: flux_train_network.py draws plain "
                       "Gaussian noise (flux_train_network.py:327) and never reads it", f"remove --{name}",
                       "sd-flux-noise")
    return out


def rule_sample_every(a: SdArgs) -> list[Finding]:
    return [Finding("warning", a.path(n), "a value of 0 or less turns sampling off", "use a positive number or "
                    "leave it out", "sd-sample-every")
            for n in ("sample_every_n_steps", "sample_every_n_epochs")
            if isinstance(a.get(n), int) and a.get(n) <= 0]


def rule_initial_step(a: SdArgs) -> list[Finding]:
    start, total = a.get("initial_step"), a.get("max_train_steps")
    if isinstance(start, int) and isinstance(total, int) and not a.get("max_train_epochs") and start >= total:
        return one("error", a.path("initial_step"), f"{start} is not below --max_train_steps ({total}); sd-scripts "
                   "stops with an AssertionError", "raise --max_train_steps", "sd-initial-step")
    return []


def rule_bucket_steps(a: SdArgs) -> list[Finding]:
    steps = a.get("bucket_reso_steps")
    if a.get("enable_bucket") and isinstance(steps, int) and steps % 64:
        return one("error", a.path("bucket_reso_steps"), f"{steps} is not a multiple of 64, which FLUX training "
                   "requires with buckets: sd-scripts stops at run time with an AssertionError", "use 64",
                   "sd-bucket-steps")
    return []


def rule_sample_prompts(a: SdArgs) -> list[Finding]:
    """`--ss` in a .txt prompts file picks a sampler, which FLUX sampling ignores."""
    value = a.get("sample_prompts")
    if not isinstance(value, str) or not value.endswith(".txt"):
        return []
    path = Path(value) if Path(value).is_absolute() or a.base_dir is None else a.base_dir / value
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    flags = sd_scripts_facts().flux_unused_prompt_flags
    return [Finding("warning", f"{a.path('sample_prompts')}:{n}", f"--{flag} is ignored when FLUX samples",
                    f"remove --{flag}", "sd-flux-unused")
            for n, line in enumerate(lines, 1) for flag in flags if f" --{flag} " in f"{line} "]


CONFLICT_RULES: list[Rule] = [
    rule_te_cache_captions, rule_te_cache_t5, rule_te_cache_notes, rule_latent_cache_aug, rule_block_swap,
    rule_split_mode, rule_fp8, rule_full_precision, rule_chroma, rule_optimizer_flags, rule_fused_backward,
    rule_adaptive_noise, rule_log_with, rule_dataset_dirs, rule_flux_unused, rule_sample_every, rule_initial_step,
    rule_bucket_steps, rule_sample_prompts, rule_flux_noise,
]
