"""ai-toolkit: one YAML job (`job: extension`, process `sd_trainer`), launched as `python run.py config.yaml`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.backends._common import (
    BASE_ENV,
    Outputs,
    lora_metadata,
    prompts_with_trigger,
    render_files,
    with_trigger,
)
from fluxgen.backends.ai_toolkit.planning import LOSSES
from fluxgen.backends.ai_toolkit.tokens import check_no_substitution_tokens
from fluxgen.checkouts import TrainerEnv, locate
from fluxgen.render import compare
from fluxgen.rules.datasets import folders
from fluxgen.rules.model import SCHNELL_ADAPTER

if TYPE_CHECKING:
    from fluxgen.plan import Plan

NAME = "ai-toolkit"
FILES = {"config.yaml": "ai-toolkit/config.yaml.j2"}


def build_command(plan: Plan, trainer: TrainerEnv | None = None,
                  config_path: str | Path | None = None) -> tuple[list[str], dict[str, str]]:
    """argv and the environment overrides; run with the rendered folder as the working directory.

    ai-toolkit looks for `<toolkit>/config/<arg>` before the argument itself (reference ai-toolkit.md §4), so a
    real launch gives the config's absolute path; command.txt keeps the short form for reading."""
    trainer = trainer or locate(NAME)
    config = os.path.abspath(config_path) if config_path is not None else "config.yaml"
    return [trainer.python, str(trainer.entry_path), config], dict(BASE_ENV)


def render(plan: Plan, trainer: TrainerEnv | None = None) -> dict[str, str]:
    check_no_substitution_tokens(plan)
    argv, env = build_command(plan, trainer)
    prompts = plan.values["sample_prompts"] if plan.values["caption_mode"] != "none" else prompts_with_trigger(plan)
    extra = {"meta": lora_metadata(plan), "schnell_adapter": SCHNELL_ADAPTER, "prompts": prompts,
             "pt": _passthrough_lines(plan), "samples": sample_items(plan, prompts),
             "negative": with_trigger(plan, plan.values.get("sample_negative", "")),
             "loss_type": LOSSES.get(plan.values.get("loss_type", ""), ""), "folders": folders(plan.values)}
    files = render_files(plan, FILES, argv, env, extra)
    check(plan, files)
    return files


# fluxgen's per-prompt sample settings -> ai-toolkit's SampleItem keys (toolkit/config_modules.py:44-77).
SAMPLE_KEYS = {"negative": ("neg",), "steps": ("sample_steps",), "seed": ("seed",), "size": ("width", "height"),
               "guidance": ("guidance_scale",)}


def sample_items(plan: Plan, prompts: list[str]) -> list[dict[str, Any]]:
    """`sample.samples` entries when a prompt has settings of its own (ai-toolkit reads them instead of
    `prompts`); empty otherwise, so plans without them render as before."""
    options = plan.values.get("sample_prompt_options")
    if not options:
        return []
    items = []
    for prompt, own in zip(prompts, options, strict=True):
        item: dict[str, Any] = {"prompt": prompt}
        for key, value in own.items():
            for name in SAMPLE_KEYS[key]:
                item[name] = with_trigger(plan, value) if key == "negative" else float(value) if key == "guidance" else value
        items.append(item)
    return items


def _passthrough_lines(plan: Plan) -> dict[str, list[str]]:
    """The intent's pass-through as YAML lines for each section of the template, and the process's own keys."""
    from fluxgen.backends.ai_toolkit.passthrough import RENDERED_SECTIONS, merge_lines
    from fluxgen.passthrough import fragment

    given = fragment(plan.values, NAME)
    blocks = {"single": {"only_if_contains": ["single_transformer_blocks"]},  # module names in the transformer
              "double": {"ignore_if_contains": ["single_transformer_blocks"]}}.get(plan.values.get("blocks"))
    if blocks:
        network = given.setdefault("network", {})
        network["network_kwargs"] = {**blocks, **network.get("network_kwargs", {})}
    log = plan.values.get("logging")
    if log in ("tensorboard", "all"):  # TensorBoard is on only when log_dir is set (ref:ai-toolkit §5)
        given["log_dir"] = "logs"
    if log in ("wandb", "all"):  # wandb reads WANDB_API_KEY from the environment; no key is written
        given["logging"] = {"use_wandb": True, "project_name": plan.values["name"], **given.get("logging", {})}
    lines = {s: merge_lines(given, s, 10 if s == "datasets" else 8) for s in RENDERED_SECTIONS}
    lines["process"] = merge_lines(given, None, 6)
    return lines


def _expected_passthrough(plan: Plan) -> dict[str, Any]:
    """Every pass-through leaf where the YAML must hold it (a `datasets` key in every dataset entry)."""
    from fluxgen.passthrough import PREFIX

    head = f"{PREFIX}{NAME}."
    want = {}
    for key, value in plan.values.items():
        if not key.startswith(head):
            continue
        path = key[len(head):]
        if path.startswith("datasets."):
            for i in range(len(folders(plan.values))):
                want[f"config.process.0.datasets.{i}.{path[len('datasets.'):]}"] = value
        else:
            want[f"config.process.0.{path}"] = value
    return want


def expected(plan: Plan) -> dict[str, Any]:
    """Dotted paths in the parsed YAML and the values the plan wants there."""
    v = plan.values
    p = "config.process.0."
    want = {
        "job": "extension", "config.name": v["name"], p + "type": "sd_trainer",
        p + "network.linear": v["rank"], p + "network.linear_alpha": v["alpha"],
        p + "save.save_every": v["save_every"], p + "train.steps": v["steps"], p + "train.lr": v["lr"],
        p + "train.batch_size": v["batch_size"], p + "train.optimizer": v["optimizer"],
        p + "train.dtype": v["precision"], p + "model.name_or_path": v["model_path"],
        p + "model.quantize": v["quantize"], p + "sample.seed": v["sample_seed"],
        p + "sample.guidance_scale": v["sample_guidance"], p + "training_seed": v["seed"],
    }
    for i, folder in enumerate(folders(v)):  # one entry per folder, all its resolutions in one list
        want |= {f"{p}datasets.{i}.folder_path": folder.path, f"{p}datasets.{i}.resolution": folder.resolution,
                 f"{p}datasets.{i}.num_repeats": folder.repeats, f"{p}datasets.{i}.caption_dropout_rate":
                 v["caption_dropout"]} | ({f"{p}datasets.{i}.is_reg": True} if folder.is_reg else {})
    if v["trigger"] and v["caption_mode"] != "none":
        want[p + "trigger_word"] = v["trigger"]
    for key, path in (("network_dropout", "network.dropout"), ("text_encoder_lr", "train.text_encoder_lr"),
                      ("gradient_accumulation", "train.gradient_accumulation")):
        if key in v:
            want[p + path] = v[key]
    for key, path in (("noise_offset", "train.noise_offset"), ("quantize_te", "model.quantize_te")):
        if key in v:
            want[p + path] = v[key]
    if "loss_type" in v:
        want[p + "train.loss_type"] = LOSSES[v["loss_type"]]
    if v["guidance"] != 1.0:
        want[p + "train.cfg_scale"] = v["guidance"]
    if "sample_negative" in v:
        want[p + "sample.neg"] = with_trigger(plan, v["sample_negative"])
    if v.get("blocks") == "single":
        want[p + "network.network_kwargs.only_if_contains"] = ["single_transformer_blocks"]
    if v.get("blocks") == "double":
        want[p + "network.network_kwargs.ignore_if_contains"] = ["single_transformer_blocks"]
    if v.get("logging") in ("tensorboard", "all"):
        want[p + "log_dir"] = "logs"
    if v.get("logging") in ("wandb", "all"):
        want[p + "logging.use_wandb"] = True
    return want | _expected_passthrough(plan)


def check(plan: Plan, files: dict[str, str]) -> None:
    import yaml

    data = yaml.safe_load(files["config.yaml"])
    compare(expected(plan), _flat_dicts(data), "config.yaml")


def _flat_dicts(data: Any, prefix: str = "") -> dict[str, Any]:
    """Like `flatten`, but a list of mappings is indexed and a non-empty mapping is always opened."""
    out: dict[str, Any] = {}
    items = enumerate(data) if isinstance(data, list) else data.items()
    for key, value in items:
        dotted = f"{prefix}{key}"
        if (isinstance(value, dict) and value) or (isinstance(value, list) and value and isinstance(value[0], dict)):
            out.update(_flat_dicts(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def find_outputs(plan: Plan, run_dir: Path) -> Outputs:
    """`output/<name>/<name>_<step:09d>.safetensors`, the final `<name>.safetensors`, `samples/*.jpg`."""
    root = Path(run_dir) / "output" / plan.values["name"]
    name = plan.values["name"]
    final = root / f"{name}.safetensors"
    checkpoints = []
    for f in sorted(root.glob(f"{name}_*.safetensors")):
        tail = f.stem[len(name) + 1:]
        if tail.isdigit():
            checkpoints.append((int(tail), f))
    samples = sorted((root / "samples").glob("*.jpg")) if (root / "samples").is_dir() else []
    return Outputs(final if final.is_file() else None, checkpoints, samples)
