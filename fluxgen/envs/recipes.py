"""Each trainer's environment recipe, keyed by backend name (moves into the backend packages' `env_recipe()`).

Pins come from `vendor/manifest.json`; the constraints files beside this module hold the exact versions each trainer
was verified with here (`../shared/trainers/*.verified-freeze.txt`).
"""

from __future__ import annotations

from pathlib import Path

from fluxgen.backends.base import EnvRecipe
from fluxgen.errors import UserError

CONSTRAINTS_DIR = Path(__file__).resolve().parent / "constraints"

# Import names each trainer needs at start-up; ai-toolkit imports every extension on a `job: extension` run
# (reference ai-toolkit.md §10), so its list is long.
_AITK_MODULES = ("torch", "torchvision", "torchaudio", "torchao", "diffusers", "transformers", "peft", "safetensors",
                 "accelerate", "optimum.quanto", "oyaml", "lycoris", "kornia", "albumentations", "cv2", "av", "dotenv",
                 "huggingface_hub")
_SD_MODULES = ("torch", "accelerate", "transformers", "diffusers", "safetensors", "toml", "voluptuous", "einops",
               "sentencepiece", "huggingface_hub")


def _recipes() -> dict[str, EnvRecipe]:
    from fluxgen.trainers import pins

    aitk, sd = pins()["ai-toolkit"], pins()["sd-scripts"]
    return {
        "ai-toolkit": EnvRecipe(
            source="checkout", pin=aitk["commit"], python="3.11", requirements="requirements.txt",
            constraints="ai-toolkit-27a03a91.txt", torch_first=("torch", "torchvision", "torchaudio"),
            git_requirements=("diffusers",), remove_without_gpu=("triton",), required_modules=_AITK_MODULES,
            entry=aitk["entry"]),
        "sd-scripts": EnvRecipe(
            source="checkout", pin=sd["commit"], python="3.10", requirements="requirements.txt",
            constraints="sd-scripts-48d368fa.txt", torch_first=("torch", "torchvision"),
            remove_without_gpu=("triton",), required_modules=_SD_MODULES, entry=sd["entry"]),
        "builtin": EnvRecipe(source="self", pin="", required_modules=("torch", "diffusers", "transformers", "peft",
                                                                      "safetensors", "sentencepiece")),
    }


def recipe_for(backend: str) -> EnvRecipe:
    """The recipe of a backend (canonical name or alias); a trainer without one is a clear error."""
    from fluxgen.backends import canonical_name

    name = canonical_name(backend)
    recipes = _recipes()
    if name not in recipes:
        raise UserError(f"{name}: fluxgen has no environment recipe for it yet; install it by hand and set its "
                        "FLUXGEN_* variables")
    return recipes[name]


def constraints_path(recipe: EnvRecipe) -> Path | None:
    return CONSTRAINTS_DIR / recipe.constraints if recipe.constraints else None
