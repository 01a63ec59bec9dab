"""A backend's environment recipe and the constraints file its package ships (`EnvRecipe.constraints`)."""

from __future__ import annotations

import sys
from pathlib import Path

from fluxgen.backends.base import EnvRecipe


def recipe_for(backend: str) -> EnvRecipe:
    """The recipe of a backend (canonical name or alias), from the backend itself."""
    from fluxgen.backends import BACKENDS, canonical_name

    return BACKENDS[canonical_name(backend)].env_recipe()


def constraints_path(recipe: EnvRecipe, backend: str | None = None) -> Path | None:
    """The recipe's constraints file, in the backend's package beside its class."""
    from fluxgen.backends import BACKENDS

    if not recipe.constraints or backend not in BACKENDS:
        return None
    module = sys.modules[type(BACKENDS[backend]).__module__]
    return Path(module.__file__).resolve().parent / recipe.constraints
