"""fluxgen's own trainer (the `fluxgen.trainer` package): one YAML config, run as `python -m fluxgen.trainer`.

It runs in fluxgen's own Python, so its environment is fluxgen's (`pip install 'fluxgen[train]'`). The package holds
`files` (render, re-parse, outputs on disk), `console` (its console parser) and `planning` (its settings).
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

REQUIRED_MODULES = ("torch", "diffusers", "transformers", "peft", "safetensors", "sentencepiece")


class Builtin(Backend):
    name = "builtin"
    templates = {"train.yaml": "builtin/train.yaml.j2"}
    # decodes with Pillow and follows sd-scripts' list
    image_extensions = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})

    def plan_settings(self, r: Resolver) -> None:
        from fluxgen.backends.builtin.planning import plan_settings

        plan_settings(r)

    def render(self, plan: Plan) -> dict[str, str]:
        from fluxgen.backends.builtin import files

        return files.render(plan)

    def validate(self, path: Path, text: str) -> Report:
        from fluxgen.validate import validate_loaded

        return validate_loaded(path, text, self.name)

    def command(self, plan: Plan, run_dir: Path, resume: Any | None = None, *,
                trainer: TrainerEnv | None = None) -> Launch:
        """`python -m fluxgen.trainer train.yaml` in the run folder; a resume adds `--resume`."""
        from fluxgen.backends.builtin import files
        from fluxgen.runner import Launch

        argv, env = files.build_command(plan, trainer)
        return Launch([*argv, *(resume.extra_args if resume is not None else ())], dict(env), Path(run_dir))

    def new_parser(self) -> Any:
        from fluxgen.backends.builtin.console import parse
        from fluxgen.monitor.common import LineParser

        return LineParser(parse)

    def find_outputs(self, plan: Plan, run_dir: Path) -> Outputs:
        from fluxgen.backends.builtin import files

        return files.find_outputs(plan, run_dir)

    def resume_point(self, plan: Plan, run_dir: Path, **options: Any) -> Any:
        from fluxgen.runs.checkpoints import resume_point

        return resume_point(plan, run_dir, **options)

    def low_vram_advice(self, values: dict[str, Any], phase: str | None) -> list[str]:
        """It has no lighter setting of its own: only another trainer fits a smaller card."""
        return ["`--backend sd-scripts` for a real FLUX.1 on this card (the builtin trainer neither quantizes "
                "nor swaps blocks)"]

    def import_config(self, paths: Sequence[Path], *, command: str | None = None) -> Any:
        from fluxgen.backends.builtin.importer import import_config
        return import_config(paths, command=command)

    def env_recipe(self) -> EnvRecipe:
        """fluxgen itself with its `train` extra: the trainer is part of fluxgen, in fluxgen's Python."""
        from fluxgen import __version__

        return EnvRecipe(source="self", pin=__version__, python="3.11", package="fluxgen[train]",
                         required_modules=REQUIRED_MODULES, entry="fluxgen.trainer")


BACKEND = Builtin()
