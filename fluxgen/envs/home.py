"""Where trainer environments live: `$FLUXGEN_HOME` (default the XDG data dir), one folder per backend and pin.

`envs/<backend>-<pin>` is a symlink to the build folder it was made in (`builds/<backend>-<pin>-<stamp>`): a venv
is not relocatable, so each build happens at its final path and the symlink is swapped atomically when it is done.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCK_NAME = "env.lock.json"


def fluxgen_home(override: str | Path | None = None) -> Path:
    """`--home`, else `$FLUXGEN_HOME`, else `$XDG_DATA_HOME/fluxgen`, else `~/.local/share/fluxgen`."""
    if override:
        return Path(override).expanduser().absolute()
    if os.environ.get("FLUXGEN_HOME"):
        return Path(os.environ["FLUXGEN_HOME"]).expanduser().absolute()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser().absolute() / "fluxgen"


def env_name(backend: str, pin: str) -> str:
    return f"{backend}-{pin[:8]}" if pin else backend


@dataclass(frozen=True)
class SetupEnv:
    """A finished environment: its folder, the trainer source in it, its Python and its lock."""

    root: Path

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def python(self) -> Path:
        return self.root / "venv" / "bin" / "python"

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_NAME

    def lock(self) -> dict[str, Any]:
        return json.loads(self.lock_path.read_text(encoding="utf-8"))


def env_link(backend: str, pin: str, home: Path | None = None) -> Path:
    return (home or fluxgen_home()) / "envs" / env_name(backend, pin)


def find_env(backend: str, pin: str, home: Path | None = None) -> SetupEnv | None:
    """The finished environment for this backend and pin, or None (a build without its lock is not finished)."""
    link = env_link(backend, pin, home)
    env = SetupEnv(link)
    if link.exists() and env.lock_path.is_file() and env.python.exists():
        return env
    return None
