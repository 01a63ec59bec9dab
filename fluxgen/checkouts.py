"""Where each trainer's checkout and Python are, first found wins: `FLUXGEN_*` variables, the user config file, the
environment `fluxgen setup` built for the pin, then the vendored submodule and the current Python."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fluxgen.backends import BACKENDS
from fluxgen.paths import PROJECT_DIR, VENDOR_DIR, user_config_dir

# Backend -> (checkout variable, Python variable) for the trainers that run from a checkout of their own.
ENV_NAMES: dict[str, tuple[str, ...]] = {name: b.env_vars for name, b in BACKENDS.items() if b.env_vars}


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
    """`~/.config/fluxgen/config.toml`: e.g. `[ai-toolkit] dir = "…"  python = "…"`, checked strictly (a typo
    would otherwise be ignored silently and the vendored trainer used instead)."""
    import tomllib

    from fluxgen.errors import ConfigErrors, UserError

    path = user_config_dir() / "config.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid TOML ({exc}); fix or remove it") from None
    problems = check_user_config(data)
    if problems:
        raise ConfigErrors(str(path), problems)
    return data


def check_user_config(data: dict[str, Any]) -> list[str]:
    """Every problem of a user config as `key: message (did you mean …)`, empty when it is valid."""
    from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

    from fluxgen.pydantic_errors import format_errors

    class Section(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        dir: str | None = Field(None, min_length=1)  # the trainer's checkout
        python: str | None = Field(None, min_length=1)  # the Python of the environment it is installed in

    sections: dict[str, Any] = {name: (Section | None, Field(None, alias=name)) for name in ENV_NAMES}
    model = create_model("UserConfig", __config__=ConfigDict(extra="forbid"), **sections)
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return format_errors(exc, _user_config_style(model))
    return []


def _user_config_style(model: Any) -> Any:
    """The user config's own wording: its tables are sections, and a wrong value names what it should be."""
    from fluxgen.pydantic_errors import ErrorStyle

    def own(err: dict[str, Any], loc: tuple[Any, ...]) -> str | None:
        got = err.get("input")
        if err["type"] == "extra_forbidden":
            return None
        if len(loc) == 1:
            return f"must be a table of settings, e.g. [{loc[0]}] with dir = \"…\" and python = \"…\""
        if err["type"] == "string_too_short":
            return "is empty; give a path or remove the line"
        return f"must be a string (a path), not {type(got).__name__} {got!r}"

    return ErrorStyle(model, noun=lambda loc: "section" if len(loc) == 1 else "key", own=own)


def locate(backend: str, environ: dict[str, str] | None = None) -> TrainerEnv:
    """Resolve the checkout and Python for a backend without checking they work (`fluxgen doctor` checks)."""
    environ = dict(os.environ if environ is None else environ)
    recipe = BACKENDS[backend].env_recipe()
    if recipe.source == "self":
        return TrainerEnv(backend, None, sys.executable, "fluxgen itself", "the current Python")
    section = user_config().get(backend, {})
    py_var = ENV_NAMES.get(backend, ("",))[-1]  # the last of a backend's variables names its Python
    if recipe.source != "checkout":  # an installed package: only its Python is looked for
        python, py_source = _python_of(environ, py_var, section, _setup_env(backend, recipe.pin))
        return TrainerEnv(backend, None, python, f"{recipe.package or backend}=={recipe.pin}", py_source,
                          recipe.pin, recipe.entry)
    dir_var, pin = ENV_NAMES[backend][0], pins()[backend]
    built = _setup_env(backend, pin["commit"])
    if environ.get(dir_var):
        folder, dir_source = Path(environ[dir_var]).expanduser(), f"${dir_var}"
    elif section.get("dir"):
        folder, dir_source = Path(section["dir"]).expanduser(), "user config"
    elif built is not None:
        folder, dir_source = built.src, f"fluxgen setup ({built.root})"
    else:
        folder, dir_source = PROJECT_DIR / pin["path"], "vendored pin"
    python, py_source = _python_of(environ, py_var, section, built)
    return TrainerEnv(backend, folder.resolve(), python, dir_source, py_source, pin["commit"], pin["entry"])


def _python_of(environ: dict[str, str], py_var: str, section: dict[str, Any], built: Any) -> tuple[str, str]:
    """The trainer's Python: its environment variable, the user config, the environment `fluxgen setup` built,
    else the current Python."""
    if environ.get(py_var):
        python, py_source = environ[py_var], f"${py_var}"
    elif section.get("python"):
        python, py_source = str(section["python"]), "user config"
    elif built is not None:
        python, py_source = str(built.python), f"fluxgen setup ({built.root})"
    else:
        python, py_source = sys.executable, "the current Python"
    return python, py_source


def _setup_env(backend: str, pin: str) -> Any:
    from fluxgen.envs.home import find_env

    return find_env(backend, pin)


# Modules each trainer imports at start-up (import names, from its backend's env recipe), checked by
# `fluxgen doctor` in the trainer's Python.
REQUIRED_MODULES: dict[str, tuple[str, ...]] = {name: b.env_recipe().required_modules for name, b in BACKENDS.items()}
# Distributions whose versions go into a run's manifest.
KEY_PACKAGES = ("torch", "diffusers", "transformers", "accelerate", "peft", "safetensors", "huggingface_hub",
                "bitsandbytes", "optimum-quanto", "torchao", "xformers")

_PROBE = r"""
import importlib.metadata as md, importlib.util as iu, json, platform, sys
mods, dists = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def found(name):
    try:
        return iu.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
def version(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None
print(json.dumps({"python": platform.python_version(), "executable": sys.executable,
                  "missing": [m for m in mods if not found(m)],
                  "packages": {d: v for d in dists if (v := version(d))}}))
"""


@dataclass(frozen=True)
class PythonProbe:
    """What a trainer's Python is: its version, the required modules it lacks, key package versions."""

    ok: bool
    python: str | None = None
    executable: str | None = None
    missing: tuple[str, ...] = ()
    packages: dict[str, str] | None = None
    error: str | None = None


def probe_python(python: str, modules: tuple[str, ...] = (), packages: tuple[str, ...] = KEY_PACKAGES,
                 timeout: float = 60.0) -> PythonProbe:
    """Ask a Python (without importing anything heavy) which modules it can find and which versions it has."""
    import subprocess

    argv = [python, "-c", _PROBE, json.dumps(list(modules)), json.dumps(list(packages))]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return PythonProbe(False, error=f"cannot run {python}: {exc}")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return PythonProbe(False, error=f"{python} failed: {last}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return PythonProbe(True, data["python"], data["executable"], tuple(data["missing"]), data["packages"])


def checkout_commit(folder: Path | None) -> str | None:
    """The commit a trainer checkout is at, read from its own git metadata (never the enclosing repository's)."""
    if folder is None:
        return None
    if not (folder / ".git").exists():  # a tree `fluxgen setup` unpacked from a tarball records its commit
        from fluxgen.envs.source import recorded_commit

        return recorded_commit(folder)
    git_dir = folder / ".git"
    if git_dir.is_file():  # a submodule or worktree: `gitdir: <path>`
        text = git_dir.read_text(encoding="utf-8", errors="replace").strip()
        if not text.startswith("gitdir:"):
            return None
        git_dir = (folder / text.split(":", 1)[1].strip()).resolve()
    return _read_head(git_dir)


def _read_head(git_dir: Path) -> str | None:
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head or None
    ref = head.split(":", 1)[1].strip()
    loose = git_dir / ref
    if loose.is_file():
        return loose.read_text(encoding="utf-8").strip() or None
    packed = git_dir / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8", errors="replace").splitlines():
            sha, _, name = line.partition(" ")
            if name.strip() == ref:
                return sha
    return None


def trainer_facts(trainer: TrainerEnv) -> dict[str, Any]:
    """The trainer part of a run's manifest: where it is, its pin and the checkout's actual commit."""
    commit = checkout_commit(trainer.dir)
    return {
        "backend": trainer.backend, "dir": str(trainer.dir) if trainer.dir else None, "dir_source": trainer.dir_source,
        "python": trainer.python, "python_source": trainer.python_source, "pin": trainer.pin, "commit": commit,
        "matches_pin": None if trainer.pin is None or commit is None else commit == trainer.pin,
    }
