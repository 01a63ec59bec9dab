"""Where SimpleTuner's Python is, and how `fluxgen setup` builds it.

SimpleTuner is a PyPI package that needs Python >= 3.12, so it lives in its own environment: found through
`$FLUXGEN_SIMPLETUNER_PYTHON`, then `python = "…"` under `[simpletuner]` in fluxgen's user config, then the
environment `fluxgen setup simpletuner` makes under fluxgen's data folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fluxgen.backends.base import EnvRecipe

PIN = "4.10.1"
PYTHON_VAR = "FLUXGEN_SIMPLETUNER_PYTHON"
REQUIRED_MODULES = ("simpletuner", "torch", "diffusers", "transformers", "accelerate", "peft", "optimum.quanto",
                    "safetensors", "sentencepiece")


def recipe() -> EnvRecipe:
    """torch 2.13.0 first, then simpletuner with `constraints-4.10.1.txt` (transformers 5.23.0 breaks its import); the
    sitecustomize makes `Tensor.pin_memory` a no-op where no accelerator answers, since its collate pins every
    batch."""
    return EnvRecipe(source="pypi", pin=PIN, python="3.12", package="simpletuner", constraints="constraints-4.10.1.txt",
                     torch_first=("torch==2.13.0",), sitecustomize="sitecustomize.py",
                     required_modules=REQUIRED_MODULES, entry="simpletuner.train")


def fluxgen_home() -> Path:
    """`$FLUXGEN_HOME`, else `$XDG_DATA_HOME/fluxgen`, else `~/.local/share/fluxgen` (where `fluxgen setup` builds)."""
    if os.environ.get("FLUXGEN_HOME"):
        return Path(os.environ["FLUXGEN_HOME"]).expanduser().absolute()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser().absolute() / "fluxgen"


def setup_python(home: Path | None = None) -> Path:
    return (home or fluxgen_home()) / "envs" / f"simpletuner-{PIN}" / "venv" / "bin" / "python"


@dataclass(frozen=True)
class Located:
    python: str
    source: str


def locate(environ: dict[str, str] | None = None, user_section: dict[str, str] | None = None) -> Located:
    """The SimpleTuner Python and where the choice came from; `doctor` checks it works."""
    environ = dict(os.environ if environ is None else environ)
    if environ.get(PYTHON_VAR):
        return Located(environ[PYTHON_VAR], f"${PYTHON_VAR}")
    section = user_section if user_section is not None else _user_section()
    if section.get("python"):
        return Located(str(Path(section["python"]).expanduser()), "user config")
    return Located(str(setup_python()), "fluxgen setup environment")


def _user_section() -> dict[str, str]:
    """`[simpletuner]` of `~/.config/fluxgen/config.toml`, read without the common strict check, which knows only
    the trainers registered before this one."""
    import tomllib

    from fluxgen.errors import UserError
    from fluxgen.paths import user_config_dir

    path = user_config_dir() / "config.toml"
    if not path.is_file():
        return {}
    try:
        section = tomllib.loads(path.read_text(encoding="utf-8")).get("simpletuner", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid TOML ({exc}); fix or remove it") from None
    if not isinstance(section, dict) or set(section) - {"python"}:
        raise UserError(f"{path}: [simpletuner] takes one key, python = \"/path/to/bin/python\"")
    return section
