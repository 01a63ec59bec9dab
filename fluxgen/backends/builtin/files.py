"""The builtin trainer (fluxgen.trainer): one YAML config, launched as `python -m fluxgen.trainer train.yaml`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from fluxgen.backends._common import BASE_ENV, Outputs, lora_metadata, prompts_with_trigger, render_files
from fluxgen.checkouts import TrainerEnv, locate
from fluxgen.multigpu import launch_argv
from fluxgen.render import compare

if TYPE_CHECKING:
    from fluxgen.plan import Plan

NAME = "builtin"
FILES = {"train.yaml": "builtin/train.yaml.j2"}
OPTIMIZERS = ("adamw", "adamw8bit")
SCHEDULERS = ("constant", "constant_with_warmup", "cosine", "linear")
TIMESTEPS = ("sigmoid", "uniform", "shift")


def build_command(plan: Plan, trainer: TrainerEnv | None = None, *, resume: bool = False) -> tuple[list[str], dict[str, str]]:
    trainer = trainer or locate(NAME)
    argv = [trainer.python, "-m", "fluxgen.trainer", "train.yaml"] + (["--resume"] if resume else [])
    return launch_argv(plan, argv), dict(BASE_ENV)


def render(plan: Plan, trainer: TrainerEnv | None = None) -> dict[str, str]:
    argv, env = build_command(plan, trainer)
    from fluxgen.rules.datasets import folders

    folder = folders(plan.values)[0]  # the one folder it reads (its planner refuses more, and is_reg)
    extra = {"meta": lora_metadata(plan), "prompts": prompts_with_trigger(plan), "resolution": max(folder.resolution),
             "pt": _passthrough_lines(plan), "folder": folder}
    files = render_files(plan, FILES, argv, env, extra)
    check(plan, files)
    return files


def _passthrough_lines(plan: Plan) -> dict[str, list[str]]:
    from fluxgen.backends.builtin.passthrough import SECTIONS, merge_lines
    from fluxgen.passthrough import fragment

    given = fragment(plan.values, NAME)
    return {section: merge_lines(given, section) for section in SECTIONS}


def check(plan: Plan, files: dict[str, str]) -> None:
    """Re-read with PyYAML and with the trainer's own schema, then compare with the plan."""
    import yaml

    from fluxgen.trainer.config import parse_config

    data = yaml.safe_load(files["train.yaml"])
    parse_config(data, "train.yaml")
    v = plan.values
    compare({"rank": v["rank"], "alpha": v["alpha"], "steps": v["steps"], "lr": v["lr"], "every": v["save_every"],
             "folder": v["dataset"], "path": v["model_path"]},
            {"rank": data["network"]["rank"], "alpha": data["network"]["alpha"], "steps": data["train"]["steps"],
             "lr": data["train"]["lr"], "every": data["save"]["every"], "folder": data["dataset"]["folder"],
             "path": data["model"]["path"]}, "train.yaml")
    from fluxgen.passthrough import fragment

    given = {f"{s}.{k}": val for s, keys in fragment(plan.values, NAME).items() for k, val in keys.items()}
    compare(given, {f"{s}.{k}": val for s, keys in data.items() if isinstance(keys, dict) for k, val in keys.items()},
            "train.yaml")


def find_outputs(plan: Plan, run_dir: Path) -> Outputs:
    """`output/<name>_<step:09d>.safetensors`, the final `output/<name>.safetensors`, `output/samples/*.png`."""
    root = Path(run_dir) / "output"
    name = plan.values["name"]
    final = root / f"{name}.safetensors"
    pattern = re.compile(rf"^{re.escape(name)}_(\d{{9}})\.safetensors$")
    checkpoints = sorted((int(m.group(1)), f) for f in root.glob("*.safetensors") if (m := pattern.match(f.name)))
    samples = sorted((root / "samples").glob("*.png")) if (root / "samples").is_dir() else []
    return Outputs(final if final.is_file() else None, checkpoints, samples)
