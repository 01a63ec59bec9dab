"""The SimpleTuner environment for the slow tests: `$FLUXGEN_SIMPLETUNER_PYTHON`, else the cached one under
~/.cache/fluxgen-tests/, built there from the backend's own recipe when `FLUXGEN_BUILD_SIMPLETUNER=1` (CI sets it;
about 8 minutes and 7 GB the first time, reused afterwards)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fluxgen.backends.simple_tuner import BACKEND, environment

CACHE = Path.home() / ".cache" / "fluxgen-tests" / f"simpletuner-{environment.PIN}"
PYTHON_312 = (Path.home() / ".pyenv/versions/3.12.1/bin/python", shutil.which("python3.12"))


def _usable(python: str) -> bool:
    try:
        done = subprocess.run([python, "-c", "import simpletuner, torch"], capture_output=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _build(target: Path) -> None:
    """What `fluxgen setup simpletuner` does, from the same recipe: venv, torch first, the package under the
    shipped constraints, the sitecustomize."""
    recipe = BACKEND.env_recipe()
    base = next((str(p) for p in PYTHON_312 if p and Path(p).exists()), None)
    if base is None:
        pytest.skip("SimpleTuner needs Python >= 3.12 and none was found to build its environment")
    package_dir = Path(environment.__file__).parent
    python = str(target / "bin" / "python")
    subprocess.run([base, "-m", "venv", str(target)], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", *recipe.torch_first], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "-c", str(package_dir / recipe.constraints),
                    f"{recipe.package}=={recipe.pin}"], check=True)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    shutil.copy(package_dir / recipe.sitecustomize, Path(site) / "sitecustomize.py")


@pytest.fixture(scope="session")
def st_python() -> str:
    given = os.environ.get(environment.PYTHON_VAR)
    if given:
        return given
    python = CACHE / "bin" / "python"
    if not python.exists() and os.environ.get("FLUXGEN_BUILD_SIMPLETUNER") == "1":
        _build(CACHE)
    if not python.exists() or not _usable(str(python)):
        pytest.skip(f"no SimpleTuner environment: set {environment.PYTHON_VAR}, or FLUXGEN_BUILD_SIMPLETUNER=1 to "
                    f"build one in {CACHE}")
    return str(python)
