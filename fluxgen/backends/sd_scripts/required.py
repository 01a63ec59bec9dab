"""What a FLUX LoRA run with flux_train_network.py needs and what its defaults get wrong (sd-scripts.md §1.2,
§7; seed:000 and the sd-scripts docs on guidance 1.0). These rules look at options that are absent, so they
run only when every option is known (no unread --config_file)."""

from __future__ import annotations

from fluxgen.backends.sd_scripts.args import SdArgs
from fluxgen.backends.sd_scripts.checks import Rule, one
from fluxgen.validate.report import Finding


def rule_network_module(a: SdArgs) -> list[Finding]:
    module = a.get("network_module")
    if not module:
        return one("error", a.path("network_module"), "missing; without it sd-scripts has no LoRA module to train",
                   "add --network_module networks.lora_flux", "sd-network-module")
    if module != "networks.lora_flux":
        return one("warning", a.path("network_module"), f"'{module}' is not the FLUX LoRA module",
                   "use --network_module networks.lora_flux", "sd-network-module")
    return []


def rule_model_files(a: SdArgs) -> list[Finding]:
    if not a.get("pretrained_model_name_or_path"):
        return one("error", a.path("pretrained_model_name_or_path"), "missing; the FLUX checkpoint is required",
                   "add --pretrained_model_name_or_path flux1-dev.safetensors", "sd-model-files")
    needed = ["t5xxl", "ae"] + ([] if a.get("model_type") == "chroma" else ["clip_l"])
    found = [Finding("warning", a.path(n), "missing; FLUX training loads this model file from its own path",
                     f"add --{n} PATH", "sd-model-files") for n in needed if not a.get(n)]
    for name in ("pretrained_model_name_or_path", *needed):
        value = a.get(name)
        if isinstance(value, str) and value.startswith("hf://"):
            found.append(Finding("warning", a.path(name), f"'{value}' is a fluxgen hub reference that only "
                                 "`fluxgen train` resolves; sd-scripts run by hand cannot open it",
                                 "download it (`fluxgen train --download` fetches it into the Hugging Face cache) "
                                 "and write its local path, or train with `fluxgen train`", "sd-hf-path"))
    return found


def rule_training_data(a: SdArgs) -> list[Finding]:
    if a.get("dataset_config") or a.get("train_data_dir") or a.get("in_json"):
        return []
    return one("error", a.path("dataset_config"), "missing, and no --train_data_dir either: there are no images",
               "add --dataset_config dataset.toml", "sd-training-data")


def rule_unet_only(a: SdArgs) -> list[Finding]:
    if a.get("network_train_unet_only") or a.get("network_train_text_encoder_only"):
        return []
    return one("warning", a.path("network_train_unet_only"), "missing, so a CLIP-L LoRA is trained too (more "
               "memory, and a LoRA that changes the text encoder)", "add --network_train_unet_only",
               "sd-unet-only")


def rule_guidance(a: SdArgs) -> list[Finding]:
    if a.has("guidance_scale") or a.get("model_type") == "chroma":
        return []
    if "schnell" in str(a.get("pretrained_model_name_or_path") or "").lower():
        return []
    return one("warning", a.path("guidance_scale"), "missing, so FLUX.1-dev trains at the default guidance 3.5; "
               "the sd-scripts docs and seed:000 train dev LoRAs at 1.0", "add --guidance_scale 1.0", "sd-guidance")


def rule_learning_rate(a: SdArgs) -> list[Finding]:
    if a.has("learning_rate") or a.has("unet_lr"):
        return []
    return one("warning", a.path("learning_rate"), "missing; the default 2e-06 is far below FLUX LoRA rates",
               "add --learning_rate 1e-4", "sd-learning-rate")


def rule_mixed_precision(a: SdArgs) -> list[Finding]:
    launcher = a.accelerate.get("mixed_precision")
    script = a.given.get("mixed_precision")
    if launcher is not None and script is None:
        return one("warning", "accelerate --mixed_precision", f"'{launcher}' is given to accelerate launch only; "
                   "the script passes its own default 'no' to accelerate, so training runs in fp32",
                   f"also give --mixed_precision {launcher} to flux_train_network.py", "sd-mixed-precision")
    if launcher is not None and launcher != script:
        return one("warning", "accelerate --mixed_precision", f"'{launcher}' differs from the script's "
                   f"--mixed_precision '{script}', which wins", "give both the same value", "sd-mixed-precision")
    if script is None:
        return one("info", a.path("mixed_precision"), "not given: training runs in fp32 (default 'no')",
                   "add --mixed_precision bf16 on GPUs that support it", "sd-mixed-precision")
    return []


def rule_defaults_used(a: SdArgs) -> list[Finding]:
    out: list[Finding] = []
    if not a.has("max_train_steps") and not a.has("max_train_epochs"):
        out += one("info", a.path("max_train_steps"), "not given: sd-scripts trains 1600 steps", "",
                   "sd-default-used")
    if not a.has("network_dim"):
        out += one("info", a.path("network_dim"), "not given: the LoRA rank falls back to 4", "", "sd-default-used")
    return out


REQUIRED_RULES: list[Rule] = [
    rule_network_module, rule_model_files, rule_training_data, rule_unet_only, rule_guidance, rule_learning_rate,
    rule_mixed_precision, rule_defaults_used,
]
