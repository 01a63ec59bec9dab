"""A run's environment lock: copied into the run folder when the trainer's Python is a `fluxgen setup` environment,
and compared with the environment a reproduction would use."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.envs.home import LOCK_NAME

if TYPE_CHECKING:
    from fluxgen.runs.manifest import RunManifest


def lock_of_python(python: str | Path) -> Path | None:
    """The env.lock.json of the environment a Python belongs to (`<env>/venv/bin/python`), if fluxgen built it."""
    path = Path(python).absolute()  # not resolved: a venv's python is a symlink to the base interpreter
    candidate = path.parent.parent.parent / LOCK_NAME
    return candidate if path.parent.name == "bin" and candidate.is_file() else None


def record_lock(python: str | Path, run_dir: Path) -> dict[str, Any] | None:
    """Copy the lock into the run folder; the manifest's `env_lock` entry (None outside a setup environment)."""
    from fluxgen.envs.lock import read_lock

    source = lock_of_python(python)
    if source is None:
        return None
    lock = read_lock(source)
    shutil.copyfile(source, Path(run_dir) / LOCK_NAME)
    return {"hash": lock.get("hash"), "file": LOCK_NAME, "env": str(source.parent)}


def run_lock(run_dir: Path, manifest: RunManifest) -> dict[str, Any] | None:
    """The lock a run recorded, read from its copy in the run folder."""
    from fluxgen.envs.lock import read_lock

    entry = manifest.env_lock or {}
    path = Path(run_dir) / (entry.get("file") or LOCK_NAME)
    return read_lock(path) if entry and path.is_file() else None


def lock_differences(lock: dict[str, Any], trainer: Any, limit: int = 30) -> list[str]:
    """Their environment lock against the Python (and checkout) this machine would run: one line per package,
    version or fact that differs, so a reproduction says precisely what is not the same."""
    from fluxgen.checkouts import checkout_commit
    from fluxgen.envs.lock import compare, installed
    from fluxgen.errors import UserError

    try:
        here = {"packages": installed(trainer.python), "trainer": {"commit": checkout_commit(trainer.dir)},
                "python": {"version": _python_version(trainer.python)}}
    except UserError as exc:
        return [f"environment: cannot compare with their lock ({exc})"]
    ours = lock_of_python(trainer.python)
    here["torch"] = {"cuda": (read_lock_safe(ours) or {}).get("torch", {}).get("cuda")} if ours else lock.get("torch")
    changes = compare(lock, here)
    if not changes:
        return []
    lines = [f"environment differs from their lock {str(lock.get('hash'))[:19]} ({len(changes)} difference(s)):"]
    lines += ["  " + c.describe("their lock", "here") for c in changes[:limit]]
    if len(changes) > limit:
        lines.append(f"  … and {len(changes) - limit} more (`fluxgen reproduce --setup` builds their environment)")
    return lines


def read_lock_safe(path: Path | None) -> dict[str, Any] | None:
    from fluxgen.envs.lock import read_lock
    from fluxgen.errors import UserError

    try:
        return read_lock(path) if path else None
    except UserError:
        return None


def _python_version(python: str) -> str | None:
    import subprocess

    done = subprocess.run([python, "-c", "import platform; print(platform.python_version())"], capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL)
    return done.stdout.strip() or None


def constraints_from_lock(lock: dict[str, Any], dest: Path) -> Path:
    """pip constraints pinning every package of a lock to its version; packages installed from a path or URL
    (a `--with` source, the trainer's own editable install) are left to `--with` and the requirements."""
    from fluxgen.envs.lock import norm

    direct = {norm(x.split(" @ ")[0]) for x in lock.get("freeze", []) if " @ " in x}
    direct |= {norm(x) for x in ("pip",)}
    lines = [f"{name}=={version}" for name, version in sorted(lock["packages"].items())
             if name not in direct and not str(version).startswith(("-e", "/", "file:"))]
    dest.write_text(f"# from the environment lock {lock.get('hash')}\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return dest
