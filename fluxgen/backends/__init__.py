"""Backends: one module per trainer, each knowing how to render a plan, launch it and read its console.

A backend module exposes:
    NAME: str                                   canonical name ("ai-toolkit", "sd-scripts", "builtin")
    render(plan) -> dict[str, str]              relative file name -> text (always includes command.txt)
    check(plan, files) -> None                  re-parse rendered files, compare with the plan (RenderMismatch)
    build_command(plan, run_dir, trainer) -> (argv, env_overrides)
    parse(lines) -> list[Event]                 pure: console text -> events   (its console module)
    find_outputs(plan, run_dir) -> Outputs      final LoRA and checkpoints on disk
Adding a trainer means adding one module here, its templates and one line in BACKENDS.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from fluxgen.errors import UserError

BACKENDS: dict[str, str] = {
    "ai-toolkit": "fluxgen.backends.ai_toolkit",
    "sd-scripts": "fluxgen.backends.sd_scripts",
    "builtin": "fluxgen.backends.builtin",
}
ALIASES: dict[str, str] = {"kohya": "sd-scripts", "sd_scripts": "sd-scripts", "ai_toolkit": "ai-toolkit", "aitk": "ai-toolkit"}


def canonical_name(name: str) -> str:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in BACKENDS:
        import difflib

        close = difflib.get_close_matches(key, list(BACKENDS) + list(ALIASES), n=1)
        hint = f" (did you mean '{ALIASES.get(close[0], close[0])}'?)" if close else ""
        raise UserError(f"unknown backend '{name}'{hint}; choose one of {', '.join(BACKENDS)}")
    return key


def get_backend(name: str) -> ModuleType:
    return importlib.import_module(BACKENDS[canonical_name(name)])
