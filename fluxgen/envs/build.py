"""`fluxgen setup`: build a trainer's environment in its own folder, step by step, and swap it in when it works.

Each build lives at its final path (`builds/<env>-<stamp>`; a venv cannot move) and `envs/<env>` is a symlink swapped
atomically once the lock is written, so a failed or interrupted setup leaves the previous environment in use. The
steps done are recorded in the build's `state.json`: the same command run again continues an unfinished build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxgen.backends.base import EnvRecipe
from fluxgen.envs import home as homes
from fluxgen.envs import pip, requirements, torchsel
from fluxgen.envs.pip import SetupFailed
from fluxgen.errors import UserError
from fluxgen.fsio import atomic_write

STEPS = ("source", "venv", "torch", "requirements", "gpu", "imports", "lock")
STEP_TITLES = {"source": "trainer source", "venv": "virtual environment", "torch": "torch", "requirements":
               "requirements", "gpu": "GPU-only packages", "imports": "import check", "lock": "env.lock.json"}
Report = Callable[[str, str], None]  # (step, latest line of output)


@dataclass
class Request:
    """What `fluxgen setup` was asked for; `key()` says whether an unfinished build can be continued."""

    backend: str
    recipe: EnvRecipe
    home: Path
    source: str | None = None
    python: str | None = None
    torch: str = "auto"
    withs: dict[str, Path] = field(default_factory=dict)
    wheels: Path | None = None
    offline: bool = False
    constraints: Path | None = None  # instead of the recipe's (a run's lock, for `reproduce --setup`)

    def key(self, python: str, tag: str) -> str:
        parts = [self.backend, self.recipe.pin, python, tag, self.source or "", str(self.wheels or ""),
                 str(self.offline), json.dumps({k: str(v) for k, v in sorted(self.withs.items())}),
                 _content_hash(self.constraints)]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _content_hash(path: Path | None) -> str:
    """Constraints are keyed by what they say, not where they lie: `reproduce --setup` writes them to a new
    temporary file each time, and an interrupted build from the same lock must still be continued."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path is not None else ""


@dataclass
class Result:
    env: homes.SetupEnv
    lock: dict[str, Any]
    seconds: float
    resumed: list[str]  # steps an earlier, interrupted build had already done


def setup(req: Request, report: Report = lambda step, line: None) -> Result:
    """Build (or continue building) the environment and swap it in; raises SetupFailed/UserError as one line."""
    if req.recipe.source != "checkout":
        raise UserError(f"{req.backend}: runs in fluxgen's own Python; nothing to set up (pip install 'fluxgen[train]')")
    python = requirements.find_python(req.recipe.python, req.python, req.backend)
    tag = torchsel.choose(req.torch, torchsel.driver_cuda())
    if req.offline and req.wheels is None:
        raise UserError("--offline needs --wheels DIR: a folder holding every wheel the trainer needs")
    name = homes.env_name(req.backend, req.recipe.pin)
    with _exclusive(req.home, name):
        return _build(req, name, python, tag, report)


def _build(req: Request, name: str, python: str, tag: str, report: Report) -> Result:
    from fluxgen.checkouts import PROJECT_DIR, pins

    build, state = _open_build(req.home, name, req.key(python, tag))
    resumed = list(state["done"])
    pin_info = pins().get(req.backend, {})
    vendored = PROJECT_DIR / pin_info["path"] if pin_info.get("path") else None
    ctx = _Ctx(req, build, python, tag, report, vendored, pin_info.get("repo"))
    start = time.monotonic()
    for step in STEPS:
        if step in state["done"]:
            continue
        report(step, "")
        state.setdefault("facts", {}).update(getattr(ctx, f"step_{step}")(state) or {})
        state["done"].append(step)
        _save_state(build, state)
    _swap_in(req.home, name, build)
    env = homes.SetupEnv(homes.env_link(req.backend, req.recipe.pin, req.home))
    return Result(env, env.lock(), time.monotonic() - start, resumed)


@contextmanager
def _exclusive(home: Path, name: str) -> Iterator[None]:
    """One setup of an environment at a time: a second one would remove the first one's unfinished build."""
    import fcntl

    (home / "builds").mkdir(parents=True, exist_ok=True)
    with (home / "builds" / f".{name}.lock").open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another `fluxgen setup` is building {name} under {home}; wait for it to end") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _open_build(home: Path, name: str, key: str) -> tuple[Path, dict[str, Any]]:
    """An unfinished build of the same request to continue, else a fresh folder (other unfinished builds of this
    environment are removed: they can never be continued by this request)."""
    builds = home / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    current = _current_target(home, name)
    for folder in sorted(builds.glob(f"{name}-*")):
        if folder == current or not (folder / "state.json").is_file():
            continue
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        if state.get("key") == key and not (folder / homes.LOCK_NAME).exists():
            return folder, state
        shutil.rmtree(folder, ignore_errors=True)
    folder = builds / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    folder.mkdir()
    state = {"key": key, "done": [], "started": time.time()}
    _save_state(folder, state)
    return folder, state


def _save_state(build: Path, state: dict[str, Any]) -> None:
    atomic_write(build / "state.json", json.dumps(state, indent=2) + "\n", force=True)


def _current_target(home: Path, name: str) -> Path | None:
    link = home / "envs" / name
    return link.resolve() if link.is_symlink() else None


def _swap_in(home: Path, name: str, build: Path) -> None:
    """Point `envs/<name>` at the finished build in one rename, then remove the build it replaced."""
    envs = home / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    old = _current_target(home, name)
    link = envs / name
    if link.exists() and not link.is_symlink():
        raise UserError(f"{link}: is not an environment fluxgen made; move it away and run setup again")
    tmp = envs / f".{name}.new"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(build)
    os.replace(tmp, link)
    if old is not None and old != build and old.parent == build.parent:
        shutil.rmtree(old, ignore_errors=True)


@dataclass
class _Ctx:
    req: Request
    build: Path
    base_python: str
    tag: str
    report: Report
    vendored: Path | None
    repo: str | None

    @property
    def py(self) -> str:
        return str(self.build / "venv" / "bin" / "python")

    def run(self, step: str, argv: list[str], cwd: Path | None = None) -> list[str]:
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONUNBUFFERED": "1"}
        return pip.run(argv, self.build / "setup.log", lambda line: self.report(step, line), cwd, env)

    def pip_install(self) -> list[str]:
        from fluxgen.envs.recipes import constraints_path

        args = [self.py, "-m", "pip", "install", "--progress-bar", "off"]
        if self.req.offline:
            args.append("--no-index")
        if self.req.wheels:
            args += ["--find-links", str(self.req.wheels.absolute())]
        constraints = self.req.constraints or constraints_path(self.req.recipe, self.req.backend)
        return args + (["-c", str(constraints)] if constraints else [])

    def step_source(self, state: dict[str, Any]) -> dict[str, Any]:
        from fluxgen.envs import source

        src = self.build / "src"
        shutil.rmtree(src, ignore_errors=True)  # an interrupted copy is started again
        recipe = self.req.recipe
        info = source.fetch(src, recipe.pin, source=self.req.source, vendored=self.vendored, repo=self.repo,
                            entry=recipe.entry)
        # Resolved now, before anything is installed: an offline git requirement without --with stops here.
        lines = requirements.flatten(src / recipe.requirements) if recipe.requirements else []
        lines = requirements.resolve(lines, self.req.withs, recipe.git_requirements, self.req.offline)
        (self.build / "requirements.fluxgen.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return {"source": info}

    def step_venv(self, state: dict[str, Any]) -> None:
        shutil.rmtree(self.build / "venv", ignore_errors=True)
        self.run("venv", [self.base_python, "-m", "venv", str(self.build / "venv")])

    def step_torch(self, state: dict[str, Any]) -> dict[str, Any]:
        if self.req.recipe.torch_first:
            index = [] if self.req.offline else torchsel.index_args(self.tag)
            self.run("torch", self.pip_install() + index + list(self.req.recipe.torch_first))
        return {"torch": self.tag}

    def step_requirements(self, state: dict[str, Any]) -> None:
        recipe, src = self.req.recipe, self.build / "src"
        file = self.build / "requirements.fluxgen.txt"
        lines = file.read_text(encoding="utf-8").splitlines()
        try:
            self.run("requirements", self.pip_install() + ["-r", str(file)], cwd=src)
        except SetupFailed as exc:
            raise SetupFailed(_git_hint(str(exc), lines, recipe.git_requirements, self.build)) from None

    def step_gpu(self, state: dict[str, Any]) -> dict[str, Any]:
        if torchsel.driver_cuda() is not None:
            return {"removed": []}
        from fluxgen.envs.lock import installed

        present = [p for p in self.req.recipe.remove_without_gpu if requirements.norm(p) in installed(self.py)]
        if present:
            self.run("gpu", [self.py, "-m", "pip", "uninstall", "-y", *present])
        return {"removed": present}

    def step_imports(self, state: dict[str, Any]) -> None:
        from fluxgen.doctor import _import_failures, _triton_without_driver, probe_imports

        probe = probe_imports(self.py, self.req.recipe.required_modules)
        if probe.error or probe.failed:
            raise SetupFailed(f"the new environment cannot import what {self.req.backend} needs: "
                              f"{probe.error or _import_failures(probe.failed, probe.facts)}; the previous one is unchanged")
        if _triton_without_driver(probe.facts):
            raise SetupFailed("triton is installed with a CUDA torch and no driver: imports would fail")

    def step_lock(self, state: dict[str, Any]) -> None:
        from fluxgen.envs.lock import make_lock

        lock = make_lock(Path(self.py), self.req.backend, self.req.recipe.pin, state["facts"]["source"], self.tag)
        lock["removed_without_gpu"] = state["facts"].get("removed", [])
        atomic_write(self.build / homes.LOCK_NAME, json.dumps(lock, indent=2) + "\n", force=True)


def _git_hint(message: str, lines: list[str], git_names: tuple[str, ...], build: Path) -> str:
    """pip's failure on a git requirement names the package and the --with that satisfies it."""
    gits = [x for x in lines if "git+" in x and requirements.line_name(x) in {requirements.norm(g) for g in git_names}]
    log = (build / "setup.log").read_text(encoding="utf-8", errors="replace")[-20000:]
    if gits and ("git clone" in log or "Cannot find command 'git'" in log) and "error" in log.lower():
        name = requirements.line_name(gits[0])
        return (f"cannot fetch {name} from {gits[0]} (no network or no git); pass --with {name}=PATH (a source "
                f"folder, source tarball or wheel of it) (pip's output: {build / 'setup.log'})")
    return message

