"""SimpleTuner's two files, serialised from dicts: `config.json` (its options, read by its strict JSON loader) and
`multidatabackend.json` (the dataset list), plus `command.txt`. Both are read back and compared with the plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fluxgen.backends._common import BASE_ENV, command_file, lora_metadata, prompts_with_trigger, with_trigger
from fluxgen.backends.simple_tuner.passthrough import merged_config, merged_datasets
from fluxgen.backends.simple_tuner.planning import LOSSES
from fluxgen.passthrough import fragment
from fluxgen.render import compare, header_lines
from fluxgen.rules.extras import LOG_DIR

NAME = "simpletuner"
CONFIG = "config.json"
DATASETS = "multidatabackend.json"
PROMPTS = "prompt_library.json"
OUTPUT_DIR = "output"
CACHE_DIR = "cache"
DATASET_ID = "images"
TEXT_CACHE_ID = "text-embeds"
REPORT_TO = {"tensorboard": "tensorboard", "wandb": "wandb", "all": "tensorboard,wandb"}  # st:reporting
CAPTION_STRATEGY = {"captions": "textfile", "trigger": "instanceprompt", "none": "instanceprompt"}


def config_dict(plan: Any) -> dict[str, Any]:
    """Every option fluxgen sets, under the names SimpleTuner 4.10.1's argument parser accepts."""
    v = plan.values
    prompts = _prompts(plan)
    config: dict[str, Any] = {
        "model_family": "flux", "model_type": "lora", "lora_type": "standard",
        "pretrained_model_name_or_path": v["model_path"],
        "model_flavour": "schnell" if v["base_model_kind"] == "schnell" else "dev",
        "lora_rank": v["rank"], "lora_alpha": v["alpha"],
        "learning_rate": v["lr"], "lr_scheduler": v["lr_scheduler"], "lr_warmup_steps": v["warmup_steps"],
        "optimizer": v["st_optimizer"], "max_train_steps": v["steps"], "num_train_epochs": 0,
        "train_batch_size": v["batch_size"], "gradient_checkpointing": v["gradient_checkpointing"],
        "mixed_precision": v["mixed_precision"], "base_model_precision": v["base_model_precision"],
        "seed": v["seed"], "flux_guidance_value": v["guidance"],
        "caption_dropout_probability": v["caption_dropout"],
        "resolution": max(v["resolution"]), "resolution_type": v["resolution_type"],
        "checkpoint_step_interval": v["save_every"], "checkpoints_total_limit": v["keep_checkpoints"],
        "validation_prompt": prompts[0], "validation_step_interval": v["sample_every"],
        "validation_num_inference_steps": v["sample_steps"], "validation_guidance": v["sample_guidance"],
        "validation_seed": v["sample_seed"], "validation_resolution": f"{v['sample_size']}x{v['sample_size']}",
        "data_backend_config": DATASETS, "output_dir": OUTPUT_DIR, "cache_dir": CACHE_DIR,
        "report_to": "none", "push_to_hub": False, "tracker_run_name": v["name"],
        "disable_benchmark": True, "resume_from_checkpoint": "latest", "modelspec_comment": _comment(plan),
    }
    if len(prompts) > 1:
        config["user_prompt_library"] = PROMPTS
    if v.get("optimizer_args"):  # `k=v,k=v`, which SimpleTuner passes to the optimizer (st:optimizer_param)
        config["optimizer_config"] = ",".join(f"{k}={val}" for k, val in v["optimizer_args"].items())
    if v["timestep_sampling"] == "uniform":
        config["flow_use_uniform_schedule"] = True
    if v["train_text_encoder"]:
        config["train_text_encoder"] = True
    if "loss_type" in v:
        config["loss_type"] = LOSSES[v["loss_type"]]
    if "sample_negative" in v:
        config["validation_negative_prompt"] = with_trigger(plan, v["sample_negative"])
    config.update(_settings(v))
    return merged_config(config, fragment(v, NAME))


def _settings(v: dict[str, Any]) -> dict[str, Any]:
    """The intent's optional training settings under SimpleTuner's names, present only when the plan has them."""
    out: dict[str, Any] = {}
    if "network_dropout" in v:
        out["lora_dropout"] = v["network_dropout"]
    if "gradient_accumulation" in v:
        out["gradient_accumulation_steps"] = v["gradient_accumulation"]
    if "ema" in v:
        out["use_ema"] = v["ema"]
    if "ema_decay" in v:
        out["ema_decay"] = v["ema_decay"]
    if "sample_first" in v:
        out["validation_on_startup"] = v["sample_first"]
    if "logging" in v:  # SimpleTuner puts logging_dir under output_dir (helpers/configuration/cmd_args.py:1115)
        out["report_to"] = REPORT_TO[v["logging"]]
        out["logging_dir"] = LOG_DIR
    return out


def datasets_list(plan: Any) -> list[dict[str, Any]]:
    """A local image dataset per folder and resolution (SimpleTuner reads one resolution per dataset; a reg folder
    has `is_regularisation_data`, st:data_backend/config) and the text-embed cache SimpleTuner requires beside them.
    A plan of one folder at one resolution keeps the single `images` dataset."""
    from fluxgen.rules.datasets import folders

    out = []
    for i, folder in enumerate(folders(plan.values)):
        base = DATASET_ID if i == 0 else f"{DATASET_ID}-{i + 1}"
        for j, res in enumerate(sorted(folder.resolution, reverse=True)):  # the largest keeps the folder's id
            out.append(_images(plan, folder, base if j == 0 else f"{base}-{res}", res))
    text = {"id": TEXT_CACHE_ID, "dataset_type": "text_embeds", "default": True, "type": "local",
            "cache_dir": f"{CACHE_DIR}/text"}
    return merged_datasets([*out, text], fragment(plan.values, NAME))


def _images(plan: Any, folder: Any, ident: str, resolution: int) -> dict[str, Any]:
    v = plan.values
    images: dict[str, Any] = {
        "id": ident, "type": "local", "instance_data_dir": folder.path,
        "caption_strategy": CAPTION_STRATEGY[folder.caption_mode],
        "resolution": resolution, "resolution_type": v["resolution_type"],
        "repeats": folder.repeats - 1,
        "crop": not v["buckets"], "crop_aspect": "square", "crop_style": "center",
        "cache_dir_vae": f"{CACHE_DIR}/vae/{ident}", "metadata_backend": "discovery",
    }
    if folder.is_reg:
        images["is_regularisation_data"] = True
    if folder.caption_mode == "captions":
        images["caption_file_extensions"] = [folder.caption_ext]
    else:
        # SimpleTuner refuses an empty instance prompt; without captions the name stands in and is always dropped
        images["instance_prompt"] = v["trigger"] if folder.caption_mode == "trigger" else v["name"]
    return images


def _prompts(plan: Any) -> list[str]:
    """Validation prompts with `[trigger]` replaced: SimpleTuner has no placeholder of its own."""
    return prompts_with_trigger(plan)


def _comment(plan: Any) -> list[str]:
    """fluxgen's header lines and LoRA metadata: SimpleTuner writes `modelspec_comment` into the LoRA's metadata."""
    meta = json.dumps(lora_metadata(plan), sort_keys=True, ensure_ascii=False)
    return [*header_lines(plan, "fluxgen render <command.txt of this folder> --out <folder>"), f"fluxgen-meta: {meta}"]


def build_command(plan: Any, python: str) -> tuple[list[str], dict[str, str]]:
    """SimpleTuner's trainer module in the run folder, its JSON config named through the variables its loader reads
    (st:configuration/loader)."""
    argv = [python, "-m", "simpletuner.train"]
    env = {**BASE_ENV, "CONFIG_BACKEND": "json", "CONFIG_PATH": CONFIG, "TOKENIZERS_PARALLELISM": "false",
           "SIMPLETUNER_LOG_LEVEL": "INFO", "TQDM_NCOLS": "125"}
    return argv, env


def render(plan: Any, python: str) -> dict[str, str]:
    config, datasets = config_dict(plan), datasets_list(plan)
    files = {CONFIG: _dump(config), DATASETS: _dump(datasets)}
    prompts = _prompts(plan)
    if len(prompts) > 1:
        files[PROMPTS] = _dump({f"prompt_{i}": p for i, p in enumerate(prompts[1:], start=1)})
    argv, env = build_command(plan, python)
    files["command.txt"] = command_file(plan, argv, env)
    check(plan, files)
    return files


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def check(plan: Any, files: dict[str, str]) -> None:
    """Read both files back and compare with the plan, types included (1 is not 1.0 for SimpleTuner's parser)."""
    config = json.loads(files[CONFIG])
    compare(config_dict(plan), config, CONFIG)
    datasets = json.loads(files[DATASETS])
    want = datasets_list(plan)
    compare({f"{i}.{k}": val for i, entry in enumerate(want) for k, val in entry.items()},
            {f"{i}.{k}": val for i, entry in enumerate(datasets) for k, val in entry.items()}, DATASETS)


def find_outputs(plan: Any, run_dir: Path) -> Any:
    """`output/pytorch_lora_weights.safetensors` when done; `output/checkpoint-<step>/` holding the same file;
    validation images under `output/validation_images/`."""
    from fluxgen.backends.base import Outputs

    root = Path(run_dir) / OUTPUT_DIR
    final = root / "pytorch_lora_weights.safetensors"
    checkpoints = []
    for folder in root.glob("checkpoint-*") if root.is_dir() else []:
        step = folder.name.removeprefix("checkpoint-")
        lora = folder / "pytorch_lora_weights.safetensors"
        if step.isdigit() and lora.is_file():
            checkpoints.append((int(step), lora))
    samples_dir = root / "validation_images"
    samples = sorted(p for p in samples_dir.rglob("*.png")) if samples_dir.is_dir() else []
    return Outputs(final if final.is_file() else None, sorted(checkpoints), samples)
