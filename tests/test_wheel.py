"""fluxgen as a wheel: built from a copy of the source tree, installed (not editable) into its own venv, and run
from a folder that is not the checkout: templates, presets, the vendor manifest and knowledge data travel inside."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import TEST_CACHE, make_images

REPO = Path(__file__).resolve().parents[1]
SOURCE = ("fluxgen", "templates", "presets", "vendor/manifest.json", "setup.py", "pyproject.toml", "README.md")
TINY = ("--backend", "builtin", "--steps", "2", "--set", "save.every=2", "--set", "samples.every=0",
        "--set", "train.resolution=64", "--set", "train.optimizer=adamw", "--no-report")


def _copy_source(dest: Path) -> Path:
    for rel in SOURCE:
        src, out = REPO / rel, dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, out)
    return dest


def _run(*argv: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
                          env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{argv}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _venv(wheel: Path) -> Path:
    key = hashlib.sha256((REPO / "constraints.txt").read_bytes() + (REPO / "pyproject.toml").read_bytes())
    venv = TEST_CACHE / f"wheel-venv-{key.hexdigest()[:12]}"
    if not (venv / "deps-installed").is_file():
        shutil.rmtree(venv, ignore_errors=True)
        _run(sys.executable, "-m", "venv", str(venv), cwd=REPO)
        _run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(REPO / "constraints.txt"),
             f"{wheel}[train]", cwd=wheel.parent, timeout=1200)
        (venv / "deps-installed").write_text("fluxgen's dependencies at the versions in constraints.txt\n")
    return venv


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_wheel_installs_and_runs_from_any_folder(tmp_path: Path) -> None:
    tree = _copy_source(tmp_path / "src")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
         str(tmp_path / "dist"), str(tree), cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("fluxgen-*.whl"))
    venv = _venv(wheel)
    py, fluxgen = str(venv / "bin" / "python"), str(venv / "bin" / "fluxgen")
    _run(py, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel), cwd=tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    where = _run(py, "-c", "import fluxgen, fluxgen.paths as p; print(fluxgen.__file__); print(p.TEMPLATES_DIR)",
                 cwd=work, env=env).split()
    assert where[0].startswith(str(venv)) and where[1].startswith(str(venv)), where
    assert "cyber-skull" in _run(fluxgen, "presets", "ls", cwd=work, env=env)
    images = make_images(work / "skull", 3, size=64)
    _run(fluxgen, "render", "cyber-skull", "--images", str(images), "--out", "cfg", cwd=work, env=env)
    assert "CSKULL" in (work / "cfg" / "config.yaml").read_text()
    _run(fluxgen, "model", "tiny", "tiny", cwd=work, env=env)
    _run(fluxgen, "train", "cyber-skull", "--images", str(images), "--set", f"model.base={work / 'tiny'}", *TINY,
         cwd=work, env=env)
    runs = list((work / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "output" / "cyber-skull.safetensors").is_file()
    lint = subprocess.run([fluxgen, "dataset", "lint", str(images)], cwd=work, capture_output=True, text=True,
                          env=env, check=False)
    assert lint.returncode in (0, 1) and "Traceback" not in lint.stderr
