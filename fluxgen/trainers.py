"""Where each trainer's checkout and Python are: environment, user config file, then the vendored pins."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fluxgen.paths import PROJECT_DIR, VENDOR_DIR, user_config_dir

ENV_NAMES = {
    "ai-toolkit": ("FLUXGEN_AI_TOOLKIT_DIR", "FLUXGEN_AI_TOOLKIT_PYTHON"),
    "sd-scripts": ("FLUXGEN_SD_SCRIPTS_DIR", "FLUXGEN_SD_SCRIPTS_PYTHON"),
}


@dataclass(frozen=True)
class TrainerEnv:
    """A trainer checkout (None for the builtin trainer) and the Python that runs it, with where each came from."""

    backend: str
    dir: Path | None
    python: str
    dir_source: str
    python_source: str
    pin: str | None = None
    entry: str | None = None

    @property
    def entry_path(self) -> Path | None:
        return self.dir / self.entry if self.dir is not None and self.entry else None


@lru_cache(maxsize=1)
def pins() -> dict[str, dict[str, Any]]:
    return json.loads((VENDOR_DIR / "manifest.json").read_text(encoding="utf-8"))


def user_config() -> dict[str, Any]:
    """`~/.config/fluxgen/config.toml`: e.g. `[ai-toolkit] dir = "…"  python = "…"`."""
    import tomllib

    path = user_config_dir() / "config.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        from fluxgen.errors import UserError

        raise UserError(f"{path}: not valid TOML ({exc}); fix or remove it") from None


def locate(backend: str, environ: dict[str, str] | None = None) -> TrainerEnv:
    """Resolve the checkout and Python for a backend without checking they work (`fluxgen doctor` checks)."""
    environ = dict(os.environ if environ is None else environ)
    if backend == "builtin":
        return TrainerEnv(backend, None, sys.executable, "fluxgen itself", "the current Python")
    dir_var, py_var = ENV_NAMES[backend]
    section = user_config().get(backend, {})
    pin = pins()[backend]
    if environ.get(dir_var):
        folder, dir_source = Path(environ[dir_var]).expanduser(), f"${dir_var}"
    elif section.get("dir"):
        folder, dir_source = Path(section["dir"]).expanduser(), "user config"
    else:
        folder, dir_source = PROJECT_DIR / pin["path"], "vendored pin"
    if environ.get(py_var):
        python, py_source = environ[py_var], f"${py_var}"
    elif section.get("python"):
        python, py_source = str(section["python"]), "user config"
    else:
        python, py_source = sys.executable, "the current Python"
    return TrainerEnv(backend, folder.resolve(), python, dir_source, py_source, pin["commit"], pin["entry"])
