"""The trainers fluxgen plans for: one package per trainer under `fluxgen/backends/<name>/`, one registry.

`BACKENDS` maps a canonical name to the trainer's `Backend` instance (see `base.py` for the contract). A package is
imported only when its backend is first asked for, and each package's `__init__` is light, so listing the names
for a click `Choice` or `--help` loads nothing heavy. Adding a trainer means adding its package and one line in
`PACKAGES`; the contract test over the registry checks it has every piece.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from fluxgen.errors import UserError

if TYPE_CHECKING:
    from fluxgen.backends.base import Backend

# Canonical name -> the package whose `BACKEND` is that trainer's instance. The order is the order users see.
PACKAGES: dict[str, str] = {
    "ai-toolkit": "fluxgen.backends.ai_toolkit",
    "sd-scripts": "fluxgen.backends.sd_scripts",
    "builtin": "fluxgen.backends.builtin",
    "simpletuner": "fluxgen.backends.simple_tuner",
}


class Registry(Mapping[str, "Backend"]):
    """Name -> backend instance, importing a backend's package the first time it is asked for."""

    def __init__(self, packages: Mapping[str, str]) -> None:
        self._packages = dict(packages)
        self._loaded: dict[str, Backend] = {}

    def __getitem__(self, name: str) -> Backend:
        if name not in self._loaded:
            backend = importlib.import_module(self._packages[name]).BACKEND
            if backend.name != name:
                raise RuntimeError(f"{self._packages[name]} registers '{backend.name}' under '{name}'")
            self._loaded[name] = backend
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._packages)

    def __len__(self) -> int:
        return len(self._packages)

    def aliases(self) -> dict[str, str]:
        """Every other spelling a backend accepts (`kohya`, `sd_scripts`) -> its canonical name."""
        return {alias: name for name in self for alias in self[name].aliases}

    def choices(self, *, aliases: bool = True) -> list[str]:
        """Names for a click `Choice`: each canonical name followed by the other names its trainer is known by
        (`kohya`); plain respellings (`sd_scripts`) are accepted by `canonical_name` but not listed."""
        return [n for name in self for n in (name, *(self[name].choice_aliases if aliases else ()))]


BACKENDS = Registry(PACKAGES)


def canonical_name(name: str) -> str:
    """The registry name for what a user typed (any case, an alias), or one clear error with a suggestion."""
    key = name.strip().lower()
    aliases = BACKENDS.aliases()
    key = aliases.get(key, key)
    if key not in BACKENDS:
        import difflib

        close = difflib.get_close_matches(key, list(BACKENDS) + list(aliases), n=1)
        hint = f" (did you mean '{aliases.get(close[0], close[0])}'?)" if close else ""
        raise UserError(f"unknown backend '{name}'{hint}; choose one of {', '.join(BACKENDS)}")
    return key


def get_backend(name: str) -> Backend:
    """The backend for a name or alias."""
    return BACKENDS[canonical_name(name)]
