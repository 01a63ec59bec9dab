"""kohya-ss sd-scripts: dataset TOML + args TOML (`--config_file`) + sample prompts, run by `accelerate launch`.

The package holds what fluxgen knows about this trainer: `files` (render, re-parse, outputs on disk), `console`
(its console parser), `validator` with `args`, `dataset_toml`, `checks`, `required` and `values` (its checks of
args, dataset TOML and command lines), the option tables `args.json`, `dataset.json`, `network_args.json` (built by
`build_reference` from the reference) and `planning` (the plan values only it has).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.backends.base import Backend, EnvRecipe, Outputs

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fluxgen.plan import Plan
    from fluxgen.rules import Resolver
    from fluxgen.runner import Launch
    from fluxgen.trainers import TrainerEnv
    from fluxgen.validate.report import Report

# Modules flux_train_network.py imports at start-up, checked by `fluxgen doctor` in its Python.
REQUIRED_MODULES = ("torch", "accelerate", "transformers", "diffusers", "safetensors", "toml", "voluptuous",
                    "einops", "sentencepiece", "huggingface_hub")

# What planning for the next VRAM tier down changes (ref:sd-scripts §7), for out-of-memory advice.
LOWER_TIER = {16: "Adafactor and batch size 1", 12: "16 blocks swapped to the CPU",
              10: "22 blocks swapped, fp8 T5-XXL", 8: "28 blocks swapped, fp8 T5-XXL"}


class SdScripts(Backend):
    name = "sd-scripts"
    aliases = ("kohya", "sd_scripts")
    choice_aliases = ("kohya",)
    templates = {
        "dataset.toml": "sd-scripts/dataset.toml.j2",
        "args.toml": "sd-scripts/args.toml.j2",
        "sample_prompts.txt": "sd-scripts/sample_prompts.txt.j2",
    }
    rendered_kinds = {"args.toml": "sd-scripts-args", "dataset.toml": "sd-scripts-dataset"}
    # library/train_util.py IMAGE_EXTENSIONS (AVIF/JXL need optional plugins, so not counted)
    image_extensions = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
    env_vars = ("FLUXGEN_SD_SCRIPTS_DIR", "FLUXGEN_SD_SCRIPTS_PYTHON")

    def plan_settings(self, r: Resolver) -> None:
        from fluxgen.backends.sd_scripts.planning import plan_settings

        plan_settings(r)

    def render(self, plan: Plan) -> dict[str, str]:
        from fluxgen.backends.sd_scripts import files

        return files.render(plan)

    def validate(self, path: Path, text: str) -> Report:
        from fluxgen.validate import validate_loaded

        return validate_loaded(path, text, self.name)

    def command(self, plan: Plan, run_dir: Path, resume: Any | None = None, *,
                trainer: TrainerEnv | None = None) -> Launch:
        """`accelerate launch` of flux_train_network.py from the run folder; a resume adds `--resume <state>`."""
        from fluxgen.backends.sd_scripts import files
        from fluxgen.runner import Launch

        argv, env = files.build_command(plan, trainer)
        return Launch([*argv, *(resume.extra_args if resume is not None else ())], dict(env), Path(run_dir))

    def new_parser(self) -> Any:
        from fluxgen.backends.sd_scripts.console import Parser

        return Parser()

    def find_outputs(self, plan: Plan, run_dir: Path) -> Outputs:
        from fluxgen.backends.sd_scripts import files

        return files.find_outputs(plan, run_dir)

    def resume_point(self, plan: Plan, run_dir: Path, **options: Any) -> Any:
        from fluxgen.runs.checkpoints import resume_point

        return resume_point(plan, run_dir, **options)

    def low_vram_advice(self, values: dict[str, Any], phase: str | None) -> list[str]:
        """The next tier of sd-scripts' VRAM table (ref:sd-scripts §7), while there is a lower one."""
        from fluxgen.rules.memory import next_tier_down

        lower = next_tier_down(values.get("vram_tier") or values.get("vram") or 24)
        if lower is None:
            return []
        return [f"`--vram {lower}` (the next VRAM tier down: {LOWER_TIER.get(lower, 'fp8 base model')})"]

    def import_config(self, paths: Sequence[Path], *, command: str | None = None) -> Any:
        from fluxgen.backends.sd_scripts.importer import import_config
        return import_config(paths, command=command)

    def env_recipe(self) -> EnvRecipe:
        """The checkout at the vendored pin with its own requirements.txt (which installs the checkout itself with
        `-e .`); torch is not in it, so it goes first."""
        from fluxgen.trainers import pins

        pin = pins()[self.name]
        return EnvRecipe(source="checkout", pin=pin["commit"], python="3.10", requirements="requirements.txt",
                         torch_first=("torch==2.13.0",), required_modules=REQUIRED_MODULES, entry=pin["entry"])


BACKEND = SdScripts()
