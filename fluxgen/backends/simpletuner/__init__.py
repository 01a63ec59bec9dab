"""SimpleTuner 4.10.1 (a PyPI package, Python >= 3.12): `config.json` + `multidatabackend.json` serialised from dicts,
run as `python -m simpletuner.train` in the run folder with its JSON loader pointed at `config.json`.

The package holds `files` (render, re-parse, outputs), `planning` (its settings), `validator` (hand-written and
rendered configs, checked against `keys.json`, which `build_keys.py` generates from the installed package),
`console` (its console parser), `resume` (its `checkpoint-N` folders and `latest`) and `environment` (where its
Python is, how `fluxgen setup` builds it). This `__init__` imports nothing heavy.
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


class SimpleTuner(Backend):
    name = "simpletuner"
    aliases = ("simple-tuner", "simple_tuner", "st")
    choice_aliases: tuple[str, ...] = ()
    templates: dict[str, str] = {}  # a dict serialiser: JSON has no comments to lay out
    # its local backend loads what Pillow opens, by these extensions (st:image_manipulation)
    image_extensions = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".jxl", ".avif"})
    env_vars = ("FLUXGEN_SIMPLETUNER_PYTHON",)

    def plan_settings(self, r: Resolver) -> None:
        from fluxgen.backends.simpletuner.planning import plan_settings

        plan_settings(r)

    def render(self, plan: Plan) -> dict[str, str]:
        from fluxgen.backends.simpletuner import environment, files

        files_out = files.render(plan, environment.locate().python)
        from fluxgen.backends.simpletuner.validator import check_rendered

        check_rendered(files_out)
        return files_out

    def validate(self, path: Path, text: str) -> Any:
        from fluxgen.backends.simpletuner.validator import validate_text

        return validate_text(text, str(path))

    def import_config(self, paths: Sequence[Path]) -> Any:
        from fluxgen.errors import UserError

        raise UserError(f"{paths[0] if paths else 'import'}: fluxgen cannot import SimpleTuner files yet")

    def command(self, plan: Plan, run_dir: Path, resume: Any | None = None, **_: Any) -> Launch:
        """`python -m simpletuner.train` in the run folder. A resume is the same command: the config says
        `resume_from_checkpoint: latest`, and `resume_point` has moved aside what must not be resumed from."""
        from fluxgen.backends.simpletuner import environment, files
        from fluxgen.runner import Launch

        argv, env = files.build_command(plan, environment.locate().python)
        return Launch(argv, dict(env), Path(run_dir))

    def new_parser(self) -> Any:
        from fluxgen.backends.simpletuner.console import Parser

        return Parser()

    def find_outputs(self, plan: Plan, run_dir: Path) -> Outputs:
        from fluxgen.backends.simpletuner import files

        return files.find_outputs(plan, run_dir)

    def resume_point(self, plan: Plan, run_dir: Path, **options: Any) -> Any:
        from fluxgen.backends.simpletuner.resume import resume_point

        return resume_point(Path(run_dir), **options)

    def low_vram_advice(self, values: dict[str, Any], phase: str | None) -> list[str]:
        from fluxgen.backends.simpletuner.planning import low_vram_advice

        return low_vram_advice(values, phase)

    def env_recipe(self) -> EnvRecipe:
        from fluxgen.backends.simpletuner.environment import recipe

        return recipe()


BACKEND = SimpleTuner()
