"""The contract every trainer backend fulfils. Common code asks a backend; it never branches on a backend's name.

A backend is one package under `fluxgen/backends/<name>/` holding its class (a `Backend` subclass), its console
parser, its validator, its knowledge data and its planning hooks; its templates live in the top-level
`templates/<name>/`. `fluxgen.backends.BACKENDS` registers one instance per trainer, and a contract test over the
registry checks that each one has every piece below.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # typing only: importing these at start-up would make `fluxgen --help` heavy
    from fluxgen.events import Event
    from fluxgen.plan import Plan
    from fluxgen.rules import Resolver
    from fluxgen.runner import Launch
    from fluxgen.trainers import TrainerEnv
    from fluxgen.validate.report import Report


@dataclass(frozen=True)
class EnvRecipe:
    """How `fluxgen setup` builds the trainer's own Python environment, and what `doctor` checks in it.

    `source` is where the trainer's code comes from: `checkout` (a git tree at `pin`, its requirements file
    installed) or `pypi` (a released package `package==pin`)."""

    source: str  # "checkout" | "pypi" | "self" (fluxgen's own trainer: runs in fluxgen's Python)
    pin: str  # commit for a checkout, version for a package
    python: str = "3.11"  # lowest Python the trainer runs on
    package: str | None = None  # the PyPI name when source is "pypi"
    requirements: str | None = None  # requirements file inside the checkout, relative to its root
    constraints: str | None = None  # known-good versions shipped in the backend package (file name)
    torch_first: tuple[str, ...] = ()  # installed before the requirements (torch, torchvision…)
    git_requirements: tuple[str, ...] = ()  # requirement names that are git URLs: offline they need --with NAME=PATH
    remove_without_gpu: tuple[str, ...] = ()  # packages that break imports when no GPU answers (triton)
    sitecustomize: str | None = None  # file in the backend package copied into the env's site-packages
    required_modules: tuple[str, ...] = ()  # import names checked after setup and by `fluxgen doctor`
    entry: str | None = None  # the script or module the trainer is started with


@dataclass
class Outputs:
    """What a trainer left on disk: the final LoRA, step checkpoints, sample images."""

    final: Path | None
    checkpoints: list[tuple[int, Path]] = field(default_factory=list)
    samples: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class DiagnosisRule:
    """One row of a backend's diagnosis table: the first row whose pattern matches an error line wins, so the order
    is the priority. `build` makes a message from the match and the run's context when a fixed text is not enough."""

    code: str
    pattern: str  # a regular expression searched in the error text
    message: str
    fix: str
    build: Callable[..., Any] | None = None


class Backend(ABC):
    """A trainer fluxgen can plan for, render, launch, follow and resume."""

    name: ClassVar[str]  # canonical name: "ai-toolkit", "sd-scripts", "builtin", "simpletuner"
    aliases: ClassVar[tuple[str, ...]] = ()  # other spellings accepted on the command line ("kohya", "sd_scripts")
    choice_aliases: ClassVar[tuple[str, ...]] = ()  # the aliases listed in --backend choices ("kohya")
    templates: ClassVar[dict[str, str]] = {}  # rendered file -> template under templates/ (empty: a dict serialiser)
    rendered_kinds: ClassVar[dict[str, str]] = {}  # rendered file -> fluxgen.validate kind, checked on every render
    image_extensions: ClassVar[frozenset[str]]  # image files the trainer loads (".png", ".jpg"…)
    env_vars: ClassVar[tuple[str, ...]] = ()  # FLUXGEN_<NAME>_DIR / _PYTHON style overrides, in lookup order
    diagnoses: ClassVar[Sequence[DiagnosisRule]] = ()  # checked before the shared table

    # planning
    @abstractmethod
    def plan_settings(self, r: Resolver) -> None:
        """Trainer-specific plan values: memory tier settings, optimizer/scheduler choices, defaults it needs."""

    # rendering and checking
    @abstractmethod
    def render(self, plan: Plan) -> dict[str, str]:
        """Relative file name -> text, `command.txt` included; every file re-parsed and compared with the plan."""

    @abstractmethod
    def validate(self, path: Path, text: str) -> Report:
        """Findings about a rendered or hand-written file of this trainer (unknown keys, types, conflicts)."""

    def import_config(self, paths: Sequence[Path], *, command: str | None = None) -> Any:
        """A trainer file (or command line) as a `fluxgen.importer.Imported`: intent values, each with the file:line
        it came from, and the settings no intent key can say."""
        from fluxgen.errors import UserError

        raise UserError(f"{paths[0] if paths else 'import'}: fluxgen cannot import {self.name} files yet")

    # launching and following
    @abstractmethod
    def command(self, plan: Plan, run_dir: Path, resume: Any | None = None, *,
                trainer: TrainerEnv | None = None) -> Launch:
        """argv, env overrides and working folder for a run (a fresh start, or from a resume point's
        `extra_args`); `trainer` is where its checkout and Python are (default: located as `doctor` does)."""

    def console_module(self) -> ModuleType:
        """The module reading this trainer's console: `parse(lines)`, and a `Parser` class for live streams."""
        return importlib.import_module(f"{type(self).__module__}.console")

    @abstractmethod
    def new_parser(self) -> Any:
        """An incremental console parser: `feed(text) -> list[Event]`, `close() -> list[Event]`."""

    def parse(self, lines: Iterable[str]) -> list[Event]:
        parser = self.new_parser()
        return parser.feed("".join(lines)) + parser.close()

    # what it leaves on disk
    @abstractmethod
    def find_outputs(self, plan: Plan, run_dir: Path) -> Outputs:
        """The final LoRA, step checkpoints and samples of a run folder."""

    @abstractmethod
    def resume_point(self, plan: Plan, run_dir: Path, **options: Any) -> Any:
        """The newest valid state a run can continue from, and the trainer arguments that use it."""

    # memory advice and environment
    @abstractmethod
    def low_vram_advice(self, values: dict[str, Any], phase: str | None) -> list[str]:
        """Concrete settings to try after an out-of-memory, lightest first, for this trainer."""

    @abstractmethod
    def env_recipe(self) -> EnvRecipe:
        """How its environment is built and checked."""
