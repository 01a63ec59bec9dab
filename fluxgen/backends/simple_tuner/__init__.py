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

from fluxgen.backends.base import Backend, DatasetQuirks, EnvRecipe

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fluxgen.checkouts import TrainerEnv
    from fluxgen.plan import Plan
    from fluxgen.runner import Launch


class SimpleTuner(Backend):
    name = "simpletuner"
    aliases = ("simple-tuner", "simple_tuner", "st")
    choice_aliases: tuple[str, ...] = ()
    templates: dict[str, str] = {}  # a dict serialiser: JSON has no comments to lay out
    main_file = "command.txt"  # the rendered file with fluxgen's header as comments (JSON has none)
    # validation images `step_<n>_validation_0_<w>x<h>.png` (prompt 0) and `step_<n>_prompt_<i>_0_…` (the library's
    # prompt_<i>); `step_<n>_unconditional_…` is no prompt's
    sample_name = r"^step_(\d+)_(?:prompt_)?(?:validation_)?(\d+)_"
    low_vram_summary = ("SimpleTuner `base_model_precision`: int8-quanto (about 18 GB for a FLUX.1 LoRA), "
                        "int4-quanto (13 GB) or nf4-bnb (9 GB), and a lower resolution")
    # its local backend loads every extension Pillow opens (st:training/__init__); these are the ones Pillow
    # always has (AVIF and JPEG XL need plugins)
    image_extensions = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
    env_vars = ("FLUXGEN_SIMPLETUNER_PYTHON",)
    saves_on_stop = False  # Ctrl-C ends its loop without a save (st:train)
    lora_formats = ("diffusers",)  # diffusers' save_lora_weights: pytorch_lora_weights.safetensors (st:FLUX)
    dataset_quirks = DatasetQuirks(
        replaces_trigger_placeholder=False, applies_exif_orientation=True,
        alpha_effect="SimpleTuner converts images to RGB, dropping the alpha channel, so whatever colour hides "
                     "under the transparent pixels is trained")

    def render(self, plan: Plan) -> dict[str, str]:
        from fluxgen.backends.simple_tuner import environment, files

        files_out = files.render(plan, environment.locate().python)
        from fluxgen.backends.simple_tuner.validator import check_rendered

        check_rendered(files_out)
        return files_out

    def validate(self, path: Path, text: str, env: Any = None) -> Any:
        """Its JSON files here; `command.txt` through the common launch-command check."""
        from fluxgen.backends.simple_tuner.validator import recognizes, validate_text

        if not recognizes(path, text):
            from fluxgen.validate import validate_loaded

            return validate_loaded(Path(path), text, None, env)
        return validate_text(text, str(path))

    def recognizes(self, path: Path, text: str) -> bool:
        """A JSON config with SimpleTuner's keys, or a dataset list of entries with ids."""
        from fluxgen.backends.simple_tuner.validator import recognizes

        return recognizes(path, text)

    def import_config(self, paths: Sequence[Path], *, command: str | None = None) -> Any:
        from fluxgen.backends.simple_tuner.importer import import_config

        return import_config(paths, command=command)

    def command(self, plan: Plan, run_dir: Path, resume: Any | None = None, *,
                trainer: TrainerEnv | None = None) -> Launch:
        """`python -m simpletuner.train` in the run folder. A resume is the same command: the config says
        `resume_from_checkpoint: latest`, and `resume_point` has moved aside what must not be resumed from."""
        from fluxgen.backends.simple_tuner import environment, files
        from fluxgen.runner import Launch

        python = trainer.python if trainer is not None else environment.locate().python
        argv, env = files.build_command(plan, python)
        return Launch(argv, dict(env), Path(run_dir))

    def resume_point(self, plan: Plan, run_dir: Path, **options: Any) -> Any:
        from fluxgen.backends.simple_tuner.resume import resume_point

        return resume_point(Path(run_dir), **options)

    def low_vram_advice(self, values: dict[str, Any], phase: str | None) -> list[str]:
        from fluxgen.backends.simple_tuner.planning import low_vram_advice

        return low_vram_advice(values, phase)

    def env_recipe(self) -> EnvRecipe:
        from fluxgen.backends.simple_tuner.environment import recipe

        return recipe()


BACKEND = SimpleTuner()
