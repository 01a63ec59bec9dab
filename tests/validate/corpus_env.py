"""What the corpus tests need from outside the repository: the trainers' pinned source tarballs (read in place,
never copied into the repository) and a small cached virtualenv that runs the trainers' own config loaders.

The venv holds only what those loaders import, at the versions of the trainers' verified environments
(../shared/trainers/*.verified-freeze.txt): PyYAML and oyaml for ai-toolkit's toolkit/config.py, toml and
voluptuous for sd-scripts' library/config_util.py. It is built once under ~/.cache/fluxgen-tests/ and reused.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import tarfile
import venv
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).parents[2].parent / "shared"
TRAINERS = SHARED / "trainers"
AITK_TARBALL = TRAINERS / "ai-toolkit-27a03a91.tar.gz"
SD_TARBALL = TRAINERS / "sd-scripts-48d368fa.tar.gz"
PINS = ("PyYAML==6.0.4", "oyaml==1.0", "toml==0.10.2", "voluptuous==0.15.2")
CACHE = Path.home() / ".cache" / "fluxgen-tests" / ("loaders-" + "-".join(p.replace("==", "") for p in PINS))


def tarball(path: Path) -> Path:
    """The tarball, or a skip that says why (the shared trainer sources live beside the worktree)."""
    if not path.is_file():
        pytest.skip(f"the pinned trainer source {path.name} is not present in {TRAINERS}")
    return path


def members(path: Path, prefix: str, suffixes: tuple[str, ...]) -> dict[str, str]:
    """Text of the tarball's files under `prefix` (path inside the tree -> text), sorted by path."""
    out: dict[str, str] = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            inner = member.name.split("/", 1)[-1]
            if member.isfile() and inner.startswith(prefix) and inner.endswith(suffixes):
                handle = tar.extractfile(member)
                if handle is not None:
                    out[inner] = handle.read().decode("utf-8")
    return dict(sorted(out.items()))


def extract(path: Path, dest: Path, prefixes: tuple[str, ...]) -> Path:
    """Unpack the files under `prefixes` into dest; returns the tree's root folder."""
    with tarfile.open(path) as tar:
        root = tar.getmembers()[0].name.split("/", 1)[0]
        chosen = [m for m in tar.getmembers() if m.name.split("/", 1)[-1].startswith(prefixes)]
        tar.extractall(dest, members=chosen, filter="data")
    return dest / root


def loader_python() -> str:
    """The cached venv's python, built on first use; a skip naming the reason when it cannot be built."""
    python = CACHE / "bin" / "python"
    marker = CACHE / ".complete"
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with open(CACHE.parent / f"{CACHE.name}.lock", "w") as lock:  # test workers build it once, one at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and python.is_file():
            return str(python)
        venv.EnvBuilder(with_pip=True, clear=True).create(CACHE)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--retries", "1",
               "--timeout", "20"]
        done = subprocess.run([*pip, *PINS], capture_output=True, text=True, timeout=240, check=False)
        if done.returncode != 0:
            last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "pip failed"
            pytest.skip(f"cannot install the trainers' loader packages ({', '.join(PINS)}) into {CACHE}: {last}")
        marker.write_text("\n".join(PINS) + "\n", encoding="utf-8")
    return str(python)


def run_script(script: str, payload: Any, cwd: Path) -> Any:
    """Run `script` with the loader venv's python, JSON in on stdin, JSON out on stdout."""
    done = subprocess.run([loader_python(), "-c", script], input=json.dumps(payload), capture_output=True,
                          text=True, cwd=cwd, timeout=120, check=False)
    if done.returncode != 0:
        raise AssertionError(f"the trainer's loader script failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])
