"""Each trainer's environment recipe, keyed by backend name (moves into the backend packages' `env_recipe()`).

Pins come from `vendor/manifest.json`; the constraints files beside this module hold the exact versions each trainer
was verified with here (`../shared/trainers/*.verified-freeze.txt`).
"""

from __future__ import annotations

from pathlib import Path

from fluxgen.backends.base import EnvRecipe
from fluxgen.errors import UserError

CONSTRAINTS_DIR = Path(__file__).resolve().parent / "constraints"


def _recipes() -> dict[str, EnvRecipe]:
    from fluxgen.trainers import REQUIRED_MODULES, pins

    aitk, sd = pins()["ai-toolkit"], pins()["sd-scripts"]
    return {
        "ai-toolkit": EnvRecipe(
            source="checkout", pin=aitk["commit"], python="3.11", requirements="requirements.txt",
            constraints="ai-toolkit-27a03a91.txt", torch_first=("torch", "torchvision", "torchaudio"),
            git_requirements=("diffusers",), remove_without_gpu=("triton",),
            required_modules=REQUIRED_MODULES["ai-toolkit"], entry=aitk["entry"]),
        "sd-scripts": EnvRecipe(
            source="checkout", pin=sd["commit"], python="3.10", requirements="requirements.txt",
            constraints="sd-scripts-48d368fa.txt", torch_first=("torch", "torchvision"),
            remove_without_gpu=("triton",), required_modules=REQUIRED_MODULES["sd-scripts"], entry=sd["entry"]),
        "builtin": EnvRecipe(source="self", pin="", required_modules=REQUIRED_MODULES["builtin"]),
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
