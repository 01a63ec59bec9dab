"""sd-scripts: dataset TOML + args TOML (`--config_file`) + sample prompts, run by `accelerate launch`."""

from __future__ import annotations

import json
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
from fluxgen.backends.sd_scripts.planning import LOSSES
from fluxgen.backends.sd_scripts.subsets import blocks, expected_blocks, general_caption_extension
from fluxgen.checkouts import TrainerEnv, locate
from fluxgen.errors import UserError
from fluxgen.intent import flatten
from fluxgen.multigpu import launch_argv
from fluxgen.render import compare
from fluxgen.rules.datasets import folders

if TYPE_CHECKING:
    from fluxgen.plan import Plan

NAME = "sd-scripts"
FILES = {
    "dataset.toml": "sd-scripts/dataset.toml.j2",
    "args.toml": "sd-scripts/args.toml.j2",
    "sample_prompts.txt": "sd-scripts/sample_prompts.txt.j2",
}
def accepted_findings(plan: Any) -> set[str]:
    """Warnings of fluxgen's own checks that this plan asks for on purpose (a CLIP-L LoRA when the user trains
    the text encoder, hub references that `fluxgen train` resolves)."""
    accepted = {"sd-hf-path"}  # hub references: resolved by `fluxgen train`, named in the file's comments
    if masked(plan.values):  # the dataset's conditioning_data_dir needs --masked_loss, which args.toml sets
        accepted.add("sd-dataset-masked")
    return accepted | ({"sd-unet-only"} if plan.values.get("train_text_encoder") else set())




def masked(v: dict[str, Any]) -> bool:
    """Whether any folder trains with masks (args.toml then sets --masked_loss)."""
    return any(f.masks for f in folders(v))


MIXED = {"bf16": "bf16", "fp16": "fp16", "fp32": "no"}


def build_command(plan: Plan, trainer: TrainerEnv | None = None) -> tuple[list[str], dict[str, str]]:
    """`accelerate launch` with its process flags given (so it prints no defaults notice), then the script."""
    trainer = trainer or locate(NAME)
    argv = [
        trainer.python, "-m", "accelerate.commands.launch",
        "--num_processes", "1", "--num_machines", "1", "--dynamo_backend", "no",
        "--mixed_precision", MIXED[plan.values["precision"]], "--num_cpu_threads_per_process", "1",
        str(trainer.entry_path), "--config_file", "args.toml",
    ]
    return launch_argv(plan, argv), dict(BASE_ENV)


def _check_prompts(prompts: list[str]) -> None:
    for p in prompts:
        if " --" in p or p.lstrip().startswith("#") or not p.strip():
            raise UserError(f"sample prompt {p!r}: sd-scripts splits prompts on ' --' and skips lines starting "
                            "with '#'; rephrase it")


def prompt_lines(plan: Plan) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Each sample prompt with its options (`--w --h --d --s --g`, then `--n`), its own settings first, else the
    plan's; the seed walks from samples.seed like ai-toolkit's walk_seed."""
    v = plan.values
    prompts = prompts_with_trigger(plan)
    options = v.get("sample_prompt_options") or [{}] * len(prompts)
    out = []
    for i, (text, own) in enumerate(zip(prompts, options, strict=True)):
        size = own.get("size", v["sample_size"])
        flags = [("w", size), ("h", size), ("d", own.get("seed", v["sample_seed"] + i)),
                 ("s", own.get("steps", v["sample_steps"])), ("g", float(own.get("guidance", v["sample_guidance"])))]
        negative = with_trigger(plan, own.get("negative", v.get("sample_negative", "")))
        if negative:
            flags.append(("n", negative))
        out.append((text, flags))
    return out


def render(plan: Plan, trainer: TrainerEnv | None = None) -> dict[str, str]:
    v = plan.values
    prompts = prompt_lines(plan)
    _check_prompts([p for p, _ in prompts] + [str(val) for _, flags in prompts for f, val in flags if f == "n"])
    argv, env = build_command(plan, trainer)
    files_in = {part: v[f"model.{part}"] for part in ("transformer", "clip_l", "t5xxl", "ae")}
    keep = v["keep_checkpoints"]
    keep_steps = (keep - 1) * v["save_every"] if keep < -(-v["steps"] // v["save_every"]) else None
    extra = {
        "files": files_in,
        "prompts": prompts,
        "loss_type": LOSSES.get(v.get("loss_type", ""), ""),
        "has_negative": any(f == "n" for _, flags in prompts for f, _ in flags),
        "caption_extension": general_caption_extension(v), "blocks": blocks(v), "masked": masked(v),
        "optimizer_args": [f"{k}={_py_literal(val)}" for k, val in v["optimizer_args"].items()],
        "mixed_precision": MIXED[v["precision"]],
        "save_precision": "bf16" if v["precision"] == "bf16" else "fp16" if v["precision"] == "fp16" else "float",
        "keep_steps": keep_steps,
        "training_comment": json.dumps({"fluxgen": {k.removeprefix("fluxgen."): val for k, val in
                                                    lora_metadata(plan).items()}}, sort_keys=True, ensure_ascii=False),
    }
    extra.update(_passthrough_lines(plan))
    files = render_files(plan, FILES, argv, env, extra)
    check(plan, files)
    return files


def _passthrough_lines(plan: Plan) -> dict[str, list[str]]:
    from fluxgen.backends.sd_scripts.passthrough import toml_lines
    from fluxgen.passthrough import fragment

    given = fragment(plan.values, NAME)
    args = dict(given.get("args") or {})
    network_args = _network_args(plan)
    args.pop("network_args", None)
    return {"pt_args": toml_lines(args), "pt_dataset": toml_lines(given.get("dataset") or {}),
            "network_args": network_args}


def _network_args(plan: Plan) -> list[str]:
    """`train_blocks` from network.blocks, then the pass-through's own network_args (split_qkv…)."""
    from fluxgen.passthrough import fragment

    blocks = [f"train_blocks={plan.values['blocks']}"] if "blocks" in plan.values else []
    return blocks + list((fragment(plan.values, NAME).get("args") or {}).get("network_args") or [])


def _py_literal(value: Any) -> str:
    """optimizer_args values are read with ast.literal_eval by sd-scripts: write Python literals."""
    return repr(value)


def _passthrough(plan: Plan, section: str) -> dict[str, Any]:
    from fluxgen.passthrough import fragment

    return fragment(plan.values, NAME).get(section) or {}


def expected_args(plan: Plan) -> dict[str, Any]:
    v = plan.values
    extras = {arg: ([v[key]] if arg == "text_encoder_lr" else v[key]) for key, arg in (
        ("network_dropout", "network_dropout"), ("text_encoder_lr", "text_encoder_lr"),
        ("gradient_accumulation", "gradient_accumulation_steps")) if key in v}
    if "loss_type" in v:
        extras["loss_type"] = LOSSES[v["loss_type"]]
    if "highvram" in v:
        extras["highvram"] = v["highvram"]
    if _network_args(plan):
        extras["network_args"] = _network_args(plan)
    return _passthrough(plan, "args") | extras | {
        "network_dim": v["rank"], "network_alpha": v["alpha"], "max_train_steps": v["steps"],
        "save_every_n_steps": v["save_every"], "learning_rate": v["lr"], "optimizer_type": v["optimizer"],
        "lr_scheduler": v["lr_scheduler"], "seed": v["seed"], "guidance_scale": v["guidance"],
        "network_module": "networks.lora_flux", "dataset_config": "dataset.toml", "output_name": v["name"],
        "max_grad_norm": v["max_grad_norm"], "timestep_sampling": v["timestep_sampling"],
    }


def expected_dataset(plan: Plan) -> dict[str, Any]:
    v = plan.values
    return expected_blocks(v) | {f"general.{k}": val for k, val in _passthrough(plan, "dataset").items()}


def check(plan: Plan, files: dict[str, str]) -> None:
    """Both TOML readers (tomllib, and `toml` which sd-scripts uses when installed) must agree with the plan."""
    import tomllib

    args = tomllib.loads(files["args.toml"])
    flat = {k: val for section in args.values() for k, val in (section.items() if isinstance(section, dict) else [])}
    compare(expected_args(plan), flat, "args.toml")
    dataset = tomllib.loads(files["dataset.toml"])
    compare(expected_dataset(plan), flatten(dataset, leaf_keys=()), "dataset.toml")
    import toml

    for name in ("args.toml", "dataset.toml"):
        if toml.loads(files[name]) != tomllib.loads(files[name]):
            from fluxgen.errors import RenderMismatch

            raise RenderMismatch(f"{name}: the toml package sd-scripts uses reads it differently from tomllib")


def find_outputs(plan: Plan, run_dir: Path) -> Outputs:
    """`output/<name>.safetensors`, `<name>-step{08d}.safetensors`, samples under `output/sample/`."""
    root = Path(run_dir) / "output"
    name = plan.values["name"]
    final = root / f"{name}.safetensors"
    checkpoints = []
    for f in sorted(root.glob(f"{name}-step*.safetensors")):
        digits = f.stem.rsplit("-step", 1)[-1]
        if digits.isdigit():
            checkpoints.append((int(digits), f))
    samples = sorted((root / "sample").glob("*.png")) if (root / "sample").is_dir() else []
    return Outputs(final if final.is_file() else None, checkpoints, samples)
