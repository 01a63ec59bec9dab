"""Ostris ai-toolkit: one YAML job (`job: extension`, process `sd_trainer`), launched as `python run.py config.yaml`.

The package holds what fluxgen knows about this trainer: `files` (render, re-parse, outputs on disk), `console`
(its console parser), `validator` with `checks`, `key_types` and `yaml_loader` (its config checks), `keys.json`
(every key it reads, built by `build_keys` from the reference) and `planning` (the plan values only it has).
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

# Modules ai-toolkit imports at start-up: every extension loads on a `job: extension` run (ref:ai-toolkit §10).
REQUIRED_MODULES = ("torch", "torchvision", "torchaudio", "torchao", "diffusers", "transformers", "peft",
                    "safetensors", "accelerate", "optimum.quanto", "oyaml", "lycoris", "kornia", "albumentations",
                    "cv2", "av", "dotenv", "huggingface_hub")


class AiToolkit(Backend):
    name = "ai-toolkit"
    aliases = ("ai_toolkit", "aitk")
    templates = {"config.yaml": "ai-toolkit/config.yaml.j2"}
    rendered_kinds = {"config.yaml": "ai-toolkit-config"}
    main_file = "config.yaml"
    sample_name = r"__(\d{9})_(\d+)\.\w+$"  # `<ms>__<step:09d>_<i>.jpg`
    low_vram_summary = ("ai-toolkit `model.quantize: true` (8-bit transformer and T5) and `model.low_vram: true`, "
                        "with `train.gradient_checkpointing: true`")
    # toolkit/data_loader.py: the image suffixes its folder dataset picks up (compared in lower case)
    image_extensions = frozenset({".jpg", ".jpeg", ".png", ".webp"})
    env_vars = ("FLUXGEN_AI_TOOLKIT_DIR", "FLUXGEN_AI_TOOLKIT_PYTHON")
    saves_on_stop = False  # no handler saves on Ctrl-C or SIGTERM (ref:ai-toolkit §0)
    lora_formats = ("diffusers",)  # (ref:captioners-and-lora-formats)
    dataset_quirks = DatasetQuirks(
        discouraged_formats=("webp",),  # its README supports only jpg, jpeg and png and says WebP has issues
        adds_missing_trigger=True, replaces_trigger_placeholder=True, applies_exif_orientation=True,
        # a missing caption reads as '' and the trigger is then injected (dataloader_mixins, BaseSDTrainProcess)
        missing_caption_gets_trigger=True,
        masks=MaskSupport("dataset mask_path: the mask folder, files named like the images", "ref:ai-toolkit §2.3"),
        alpha_effect="ai-toolkit trains the transparent areas as black and learns to draw them")

    def command(self, plan: Plan, run_dir: Path, resume: Any | None = None, *,
                trainer: TrainerEnv | None = None) -> Launch:
        """ai-toolkit reads `<toolkit>/config/<arg>` before the argument itself, so a launch names the run's own
        config by its absolute path (ref:ai-toolkit §4); it resumes by itself from the newest save in the folder."""
        from fluxgen.backends.ai_toolkit import files
        from fluxgen.runner import Launch

        config = Path(run_dir).absolute() / next(iter(self.templates))
        argv, env = files.build_command(plan, trainer, config_path=config)
        return Launch([*argv, *(resume.extra_args if resume is not None else ())], dict(env), Path(run_dir))

    def plan_for_gpus(self, plan: Plan, gpus: int) -> Plan:
        from fluxgen.errors import UserError

        raise UserError(f"--gpus {gpus}: ai-toolkit has no data parallelism at its pin (its data loader is never "
                        "split across processes: jobs/process/BaseSDTrainProcess.py:777 leaves "
                        "accelerator.prepare(self.data_loader) commented out; ref:user-needs §1.7); train one variant "
                        "per GPU with `fluxgen sweep INTENT --grid KEY=V1,V2` (the local executor gives each run its own "
                        "GPU), or, for a model that does not fit one GPU, set `split_model_over_gpus: true` under model: "
                        "in ai-toolkit's config (ref:ai-toolkit §2); or train with --backend sd-scripts or builtin")

    def resume_point(self, plan: Plan, run_dir: Path, **options: Any) -> Any:
        from fluxgen.backends.ai_toolkit.resume import resume_point

        return resume_point(plan, run_dir, self.find_outputs(plan, run_dir), **options)

    def low_vram_advice(self, values: dict[str, Any], phase: str | None) -> list[str]:
        """The next VRAM tier down while there is one that changes something; below 24 GB, another trainer."""
        from fluxgen.rules.memory import next_tier_down

        tier = values.get("vram_tier") or values.get("vram") or 24
        if tier >= 24:
            what = "low_vram and 8-bit quantization" if tier >= 48 else "ai-toolkit's low_vram mode"
            return [f"`--vram {next_tier_down(tier)}` (the next VRAM tier down: {what})"]
        return ["`--backend sd-scripts` (block swapping fits 8-16 GB cards; ai-toolkit has no lower setting)"]

    def import_config(self, paths: Sequence[Path], *, command: str | None = None) -> Any:
        from fluxgen.backends.ai_toolkit.importer import import_config
        return import_config(paths, command=command)

    def env_recipe(self) -> EnvRecipe:
        """The checkout at the vendored pin and its requirements.txt (ref:ai-toolkit §10) through the versions it
        was verified with here (`constraints-27a03a91.txt`: torch 2.14.1, torchvision 0.29.1, torchaudio 2.11.0,
        transformers 5.5.3, accelerate 1.15.0 …); torch first as its README installs it, diffusers from the git
        commit the requirements name (or `--with`), and triton removed where no GPU answers (its OmniGen2
        extension crashes at import otherwise)."""
        from fluxgen.checkouts import pins

        pin = pins()[self.name]
        return EnvRecipe(source="checkout", pin=pin["commit"], python="3.11", requirements="requirements.txt",
                         constraints="constraints-27a03a91.txt", torch_first=("torch", "torchvision", "torchaudio"),
                         git_requirements=("diffusers",), remove_without_gpu=("triton",),
                         required_modules=REQUIRED_MODULES, entry=pin["entry"])


BACKEND = AiToolkit()
