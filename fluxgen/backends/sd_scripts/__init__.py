"""kohya-ss sd-scripts: dataset TOML + args TOML (`--config_file`) + sample prompts, run by `accelerate launch`.

The package holds what fluxgen knows about this trainer: `files` (render, re-parse, outputs on disk), `console`
(its console parser), `validator` with `args`, `dataset_toml`, `checks`, `required` and `values` (its checks of
args, dataset TOML and command lines), the option tables `args.json`, `dataset.json`, `network_args.json` (built by
`build_reference` from the reference) and `planning` (the plan values only it has).
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

# The third-party modules flux_train_network.py imports at start-up (through train_network and library/*, at module
# level; library/train_util.py imports torchvision, cv2 and imagesize), checked after `fluxgen setup`, by `setup
# --check` and by `fluxgen doctor` in its Python. sentencepiece: T5-XXL's tokenizer.
REQUIRED_MODULES = ("torch", "torchvision", "accelerate", "transformers", "diffusers", "safetensors", "toml",
                    "voluptuous", "einops", "sentencepiece", "huggingface_hub", "cv2", "PIL", "imagesize", "numpy",
                    "tqdm", "packaging")

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
    main_file = "args.toml"
    sample_name = r"_(\d{6})_(\d{2})_\d{14}(?:_\d+)?\.\w+$"  # `<name>_<step:06d>_<ii>_<YYYYmmddHHMMSS>[_<seed>].png`
    low_vram_summary = ("sd-scripts `--fp8_base`, `--blocks_to_swap 16` (12 GB), `22` (10 GB) or `28` (8 GB, with an "
                        "fp8 T5XXL), and Adafactor (`--optimizer_type adafactor --optimizer_args relative_step=False "
                        "scale_parameter=False warmup_init=False`) or 8-bit AdamW instead of AdamW")
    # library/train_util.py IMAGE_EXTENSIONS (AVIF/JXL need optional plugins, so not counted)
    image_extensions = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
    env_vars = ("FLUXGEN_SD_SCRIPTS_DIR", "FLUXGEN_SD_SCRIPTS_PYTHON")
    loads_hub_model = False  # reads single model files, resolved by fluxgen before launch
    lora_formats = ("kohya",)  # (ref:captioners-and-lora-formats)
    dataset_quirks = DatasetQuirks(
        non_ascii_names="warning",  # sd-scripts and kohya_ss on Windows have failed to open such paths
        first_caption_line_only=True, empty_caption_file_fails=True, replaces_trigger_placeholder=False,
        # a DreamBooth subset image without a caption file trains on its class_tokens (fluxgen writes the trigger)
        missing_caption_gets_trigger=True,
        masks=MaskSupport("--masked_loss, subset conditioning_data_dir = the mask folder", "ref:sd-scripts §2"),
        alpha_effect="sd-scripts drops the alpha channel (unless alpha_mask is set), so whatever colour hides "
                     "under the transparent pixels is trained, often black")

    def accepted_findings(self, plan: Plan) -> set[str]:
        from fluxgen.backends.sd_scripts import files

        return files.accepted_findings(plan)

    def command(self, plan: Plan, run_dir: Path, resume: Any | None = None, *,
                trainer: TrainerEnv | None = None) -> Launch:
        """`accelerate launch` of flux_train_network.py from the run folder; a resume adds `--resume <state>`."""
        from fluxgen.backends.sd_scripts import files
        from fluxgen.runner import Launch

        argv, env = files.build_command(plan, trainer)
        return Launch([*argv, *(resume.extra_args if resume is not None else ())], dict(env), Path(run_dir))

    def plan_for_gpus(self, plan: Plan, gpus: int) -> Plan:
        from fluxgen.multigpu import rescaled

        return rescaled(plan, gpus, "sd-scripts with N processes takes batch × N images per step and divides the "
                                    "steps of an epoch by N (ref:sd-scripts §3)")

    def argv_for_gpus(self, argv: list[str], gpus: int) -> list[str]:
        from fluxgen.multigpu import accelerate_multi_gpu

        return accelerate_multi_gpu(argv, gpus)

    def resume_point(self, plan: Plan, run_dir: Path, *, move_broken: bool = True,
                     bad_from: int | None = None) -> Any:
        """The newest whole `--save_state` folder; nothing is moved (sd-scripts resumes only from the one named)."""
        from fluxgen.backends.sd_scripts.resume import resume_point

        return resume_point(plan, run_dir, bad_from)

    def check_resumable(self, point: Any, run_dir: Path) -> None:
        from fluxgen.backends.sd_scripts.resume import check_resumable

        check_resumable(point, run_dir)

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
        `-e .`) through `constraints-48d368fa.txt` (its pins and the set verified here); torch is not in it, so
        torch 2.13.0 and torchvision 0.28.0 go first."""
        from fluxgen.checkouts import pins

        pin = pins()[self.name]
        return EnvRecipe(source="checkout", pin=pin["commit"], python="3.10", requirements="requirements.txt",
                         constraints="constraints-48d368fa.txt", torch_first=("torch", "torchvision"),
                         remove_without_gpu=("triton",), required_modules=REQUIRED_MODULES, entry=pin["entry"])


BACKEND = SdScripts()
