"""Where fluxgen's own files live (templates, presets, vendor pins) and where users keep theirs."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
# An installed wheel carries templates/, presets/ and vendor/manifest.json under fluxgen/resources (setup.py maps
# them there); a source checkout or editable install reads the top-level folders.
_BUNDLED = PACKAGE_DIR / "resources"
DATA_ROOT = _BUNDLED if (_BUNDLED / "templates").is_dir() else PROJECT_DIR
TEMPLATES_DIR = DATA_ROOT / "templates"
BUILTIN_PRESETS_DIR = DATA_ROOT / "presets"
VENDOR_DIR = DATA_ROOT / "vendor"


def user_config_dir() -> Path:
    """XDG config dir for fluxgen (`$XDG_CONFIG_HOME/fluxgen`, else `~/.config/fluxgen`)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "fluxgen"


def preset_search_path() -> list[Path]:
    """User presets: ./presets, then $FLUXGEN_PRESETS (os.pathsep-separated), then the user config dir."""
    dirs = [Path.cwd() / "presets"]
    env = os.environ.get("FLUXGEN_PRESETS")
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs.append(user_config_dir() / "presets")
    return dirs
