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


def _backend(name: str) -> object:
    """The registry's entry for a backend: a module path today, a `Backend` instance once backends are packages."""
    import importlib

    from fluxgen.backends import BACKENDS

    entry = BACKENDS[name]
    return importlib.import_module(entry) if isinstance(entry, str) else entry


def recipe_for(backend: str) -> EnvRecipe:
    """The recipe of a backend (canonical name or alias): its own `env_recipe()` when it has one, else the table
    above; a trainer without either is a clear error."""
    from fluxgen.backends import canonical_name

    name = canonical_name(backend)
    own = getattr(_backend(name), "env_recipe", None)
    if callable(own):
        return own()
    recipes = _recipes()
    if name not in recipes:
        raise UserError(f"{name}: fluxgen has no environment recipe for it yet; install it by hand and set its "
                        "FLUXGEN_* variables")
    return recipes[name]


def constraints_path(recipe: EnvRecipe, backend: str | None = None) -> Path | None:
    """The recipe's constraints file: shipped in the backend's package when it has it there, else beside this
    module."""
    if not recipe.constraints:
        return None
    if backend is not None:
        from fluxgen.backends import BACKENDS

        if backend in BACKENDS:
            import sys

            entry = _backend(backend)
            module = entry if hasattr(entry, "__file__") else sys.modules.get(type(entry).__module__)
            where = getattr(module, "__file__", None)
            if isinstance(where, str):
                candidate = Path(where).parent / recipe.constraints
                if candidate.is_file():
                    return candidate
    return CONSTRAINTS_DIR / recipe.constraints
