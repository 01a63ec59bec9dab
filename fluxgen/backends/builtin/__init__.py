"""fluxgen's own trainer (the `fluxgen.trainer` package): one YAML config, run as `python -m fluxgen.trainer`.

It runs in fluxgen's own Python, so its environment is fluxgen's (`pip install 'fluxgen[train]'`). The package holds
`files` (render, re-parse, outputs on disk), `console` (its console parser) and `planning` (its settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.backends.base import (
    Backend,
    DatasetQuirks,
    EnvRecipe,
    MaskSupport,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fluxgen.checkouts import TrainerEnv
    from fluxgen.plan import Plan
    from fluxgen.runner import Launch

REQUIRED_MODULES = ("torch", "diffusers", "transformers", "peft", "safetensors", "sentencepiece")


class Builtin(Backend):
    name = "builtin"
    templates = {"train.yaml": "builtin/train.yaml.j2"}
    main_file = "train.yaml"
    sample_name = r"^(\d{9})_(\d+)\.\w+$"  # `<step:09d>_<i>.png`
    # decodes with Pillow and follows sd-scripts' list
    image_extensions = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
    lora_formats = ("diffusers", "kohya")  # (ref:captioners-and-lora-formats)
    dataset_quirks = DatasetQuirks(
        applies_exif_orientation=True,
        # fluxgen.trainer.data: the trigger goes first in a caption that lacks it, and alone for a missing caption
        adds_missing_trigger=True, missing_caption_gets_trigger=True,
        masks=MaskSupport("dataset.mask_folder: a masked MSE over the latent pixels", "builtin trainer"),
        alpha_effect="the builtin trainer drops the alpha channel, so whatever colour hides under the transparent "
                     "pixels is trained, often black")

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

    def plan_for_gpus(self, plan: Plan, gpus: int) -> Plan:
        from fluxgen.multigpu import rescaled

        return rescaled(plan, gpus, "the builtin trainer's data parallel takes batch × N images per step")

    def argv_for_gpus(self, argv: list[str], gpus: int) -> list[str]:
        from fluxgen.multigpu import torchrun

        return torchrun(argv, gpus)

    def resume_point(self, plan: Plan, run_dir: Path, **options: Any) -> Any:
        """`--resume` makes fluxgen.trainer continue from the newest checkpoint in its output folder, whose
        `<stem>.state.pt` beside it must be whole too (the trainer silently passes over a bad one)."""
        from fluxgen.runs.checkpoints import newest_checkpoint, torch_save_problem

        def state_problem(lora: Path) -> str | None:
            return torch_save_problem(lora.with_name(lora.name.removesuffix(".safetensors") + ".state.pt"))

        return newest_checkpoint(self.find_outputs(plan, run_dir), ["--resume"], companion=state_problem, **options)

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
