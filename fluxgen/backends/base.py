"""The contract every trainer backend fulfils. Common code asks a backend; it never branches on a backend's name.

A backend is one package under `fluxgen/backends/<name>/` holding its class (a `Backend` subclass), its console
parser, its validator, its knowledge data and its planning hooks; its templates live in the top-level
`templates/<name>/`. `fluxgen.backends.BACKENDS` registers one instance per trainer, and a contract test over the
registry checks that each one has every piece below.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # typing only: importing these at start-up would make `fluxgen --help` heavy
    from fluxgen.checkouts import TrainerEnv
    from fluxgen.events import Event
    from fluxgen.plan import Plan
    from fluxgen.rules import Resolver
    from fluxgen.runner import Launch
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


@dataclass(frozen=True)
class MaskSupport:
    """How a trainer weights the loss by a mask folder (white = trained, black = ignored)."""

    how: str  # one line for the plan's origin and the docs
    source: str


@dataclass(frozen=True)
class DatasetQuirks:
    """How a trainer's loader treats an image folder, as facts the dataset checks ask about (each backend's values
    cite where its loader does so). The defaults describe no trainer in particular: `fluxgen dataset lint` without
    `--backend` judges by them."""

    discouraged_formats: tuple[str, ...] = ()  # formats it loads but its own docs warn about ("webp")
    non_ascii_names: str | None = None  # severity for names outside ASCII where its setups failed on them
    first_caption_line_only: bool = False  # trains on the first line of a caption file
    empty_caption_file_fails: bool = False  # stops on a 0-byte caption file
    adds_missing_trigger: bool = False  # puts the trigger at the start of a caption that lacks it
    missing_caption_gets_trigger: bool = False  # an image without a caption file trains on the trigger alone
    masks: MaskSupport | None = None  # how it weights the loss by a mask folder; None: no masked loss
    replaces_trigger_placeholder: bool | None = None  # '[trigger]' in a caption: replaced (True), trained literally
    trains_mask_files: bool = True  # an `<image>_mask` file beside its image is trained as an ordinary image
    applies_exif_orientation: bool = False  # turns an image upright by its EXIF orientation tag
    alpha_effect: str = ("ai-toolkit trains the transparent areas as black, and sd-scripts (without alpha_mask) "
                         "trains whatever colour hides under them")  # what transparency becomes in training


@dataclass(frozen=True)
class PassThrough:
    """A trainer's raw settings under the intent's `trainer: {<backend>: {...}}`: what no modelled key says, merged
    into the rendered files last. `sections` are its top-level keys (each with the file part it merges into);
    `modelled` maps a `section.key` that fluxgen already writes to the intent key that sets it ("" when fluxgen
    sets it itself); `check(fragment)` returns `(dotted path in the fragment, problem)` pairs from the trainer's own
    key knowledge (unknown keys with did-you-mean, types, choices)."""

    sections: Mapping[str, str]
    modelled: Mapping[str, str]
    check: Callable[[dict[str, Any]], list[tuple[str, str]]]
    open_sections: bool = False  # True: any top-level key the trainer reads is allowed, not only `sections`
    schema: Callable[[], dict[str, Any]] | None = None  # its JSON Schema (for `fluxgen schema` and editors)


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


class Planner(ABC):
    """A trainer's planning hooks. Each rule in `fluxgen/rules` calls its hook at the point where this trainer's
    values differ (after the common values of that topic are set), so the order of the rules in `plan.py` is the
    order of the hooks. A hook with nothing to do for a trainer keeps the default, which does nothing."""

    def network(self, r: Resolver) -> None:
        """After rank and alpha (a trainer that ignores alpha says so here)."""
        return None  # nothing to do unless the trainer differs here

    @abstractmethod
    def timesteps(self, r: Resolver) -> None:
        """Timestep sampling and the flow settings that go with it."""

    @abstractmethod
    def memory(self, r: Resolver, tier: int) -> None:
        """The settings of a VRAM tier (quantization, block swap…) and the optimizer that fits it."""

    def captions(self, r: Resolver) -> None:
        """After caption mode, dropout and shuffling (a trainer that caches text outputs decides here)."""
        return None  # nothing to do unless the trainer differs here

    def model(self, r: Resolver, kind: str, location: str) -> None:
        """After the base model is classified (`kind` is dev, schnell, hub or local; `location` its id or folder).
        By default the trainer loads `model.base` whole, so single model files given in the intent are not used."""
        unused = [f"model.{part}" for part in ("transformer", "clip_l", "t5xxl", "ae") if r.is_given(f"model.{part}")]
        if unused:
            r.warn(f"{', '.join(unused)}: {r.backend} loads model.base whole and reads no single model files, so "
                   "these are not used", "rules/model.py")

    def dataset(self, r: Resolver, report: Any, folder: Path) -> None:
        """After the dataset was scanned (`report` is its lint report): how this trainer walks the folder."""
        return None  # nothing to do unless the trainer differs here

    def datasets(self, r: Resolver, folders: list[Any]) -> None:
        """After each image folder is planned (`fluxgen.rules.datasets.Folder`s): refuse, with the intent key and
        the reason, what this trainer cannot do with several folders, regularisation images or their masks."""
        return None  # nothing to do unless the trainer differs here

    @abstractmethod
    def settings(self, r: Resolver) -> None:
        """Values only this trainer has, so every line of its files has a plan value and an origin."""

    @abstractmethod
    def choices(self) -> dict[str, tuple[str, ...]]:
        """The optimizer, lr_scheduler and timestep_sampling names the trainer accepts."""

    def accepts(self, key: str, value: str) -> bool:
        """A value outside `choices()` the trainer still takes (a class path, a family of names)."""
        return False

    def samples(self, r: Resolver) -> None:
        """When the intent gives a negative prompt or per-prompt settings: refuse what the trainer cannot sample,
        and say what it writes but ignores (FLUX dev samples without real CFG)."""
        return None

    def losses(self) -> dict[str, str]:
        """train.loss_type names the trainer can do -> its own spelling; another name is refused with
        `unsupported()["train.loss_type"]` as the reason."""
        return {}

    def unsupported(self) -> dict[str, str]:
        """Intent keys this trainer cannot do, each with the reason it is refused (`fluxgen.rules.extras`: a key
        given with a value other than off/0 is an error naming the key and this reason)."""
        return {}

    def capabilities(self, r: Resolver) -> None:
        """Last: refuse a value the trainer does not know (a trainer may instead replace it, with a warning)."""
        from fluxgen.rules.capabilities import check_choices

        check_choices(r, self.choices(), self.accepts)


class Backend(ABC):
    """A trainer fluxgen can plan for, render, launch, follow and resume."""

    name: ClassVar[str]  # canonical name: "ai-toolkit", "sd-scripts", "builtin", "simpletuner"
    aliases: ClassVar[tuple[str, ...]] = ()  # other spellings accepted on the command line ("kohya", "sd_scripts")
    choice_aliases: ClassVar[tuple[str, ...]] = ()  # the aliases listed in --backend choices ("kohya")
    templates: ClassVar[dict[str, str]] = {}  # rendered file -> template under templates/ (empty: a dict serialiser)
    rendered_kinds: ClassVar[dict[str, str]] = {}  # rendered file -> fluxgen.validate kind, checked on every render
    main_file: ClassVar[str]  # the rendered file a run is reproduced from (it carries the intent header)
    sample_name: ClassVar[str | None] = None  # regex of its sample files' names: (step, prompt index) groups
    low_vram_summary: ClassVar[str | None] = None  # its low-VRAM options in one sentence, when no plan is at hand
    lora_formats: ClassVar[tuple[str, ...]] = ()  # LoRA key formats it writes itself, its default first
    image_extensions: ClassVar[frozenset[str]]  # image files the trainer loads (".png", ".jpg"…)
    env_vars: ClassVar[tuple[str, ...]] = ()  # FLUXGEN_<NAME>_DIR / _PYTHON style overrides, in lookup order
    diagnoses: ClassVar[Sequence[DiagnosisRule]] = ()  # checked before the shared table
    loads_hub_model: ClassVar[bool] = True  # loads the base model by hub id itself (False: single files fluxgen resolves)
    saves_on_stop: ClassVar[bool] = True  # False: a stopped run loses the steps after its last save
    dataset_quirks: ClassVar[DatasetQuirks]  # how its loader treats the image folder

    def module(self, name: str) -> ModuleType:
        """A module of this trainer's package: each keeps its pieces under the same names (`planning.PLANNER`,
        `passthrough.PASSTHROUGH`, `files.render`/`find_outputs`, `console.Parser`), so a backend class overrides
        only what its trainer does differently."""
        return importlib.import_module(f"{type(self).__module__}.{name}")

    # planning
    def planner(self) -> Planner:
        """The trainer's planning hooks (memory tiers, timestep sampling, choices, its own defaults)."""
        return self.module("planning").PLANNER

    def plan_settings(self, r: Resolver) -> None:
        """Trainer-specific plan values the common rules do not set."""
        self.planner().settings(r)

    def passthrough(self) -> PassThrough | None:
        """The trainer's pass-through section, or None when its files take no raw settings."""
        return self.module("passthrough").PASSTHROUGH

    # rendering and checking
    def render(self, plan: Plan) -> dict[str, str]:
        """Relative file name -> text, `command.txt` included; every file re-parsed and compared with the plan."""
        return self.module("files").render(plan)

    def accepted_findings(self, plan: Plan) -> set[str]:
        """Finding codes the post-render check lets through for this plan (e.g. a model path fluxgen resolves only
        at launch)."""
        return set()

    def validate(self, path: Path, text: str, env: Mapping[str, str] | None = None) -> Report:
        """Findings about a rendered or hand-written file of this trainer (unknown keys, types, conflicts); `env`
        is the environment the trainer would run with (for values it substitutes). By default the file kinds
        `fluxgen.validate` detects; a trainer with files of its own overrides it."""
        from fluxgen.validate import validate_loaded

        return validate_loaded(path, text, self.name, env)

    def owns(self, path: Path, text: str) -> bool:
        """Whether a file `fluxgen validate` was given without --backend is this trainer's; asked before fluxgen's
        own detection of ai-toolkit, sd-scripts and builtin files (a new trainer says so for its own files)."""
        return False

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
        return self.module("console")

    def new_parser(self) -> Any:
        """An incremental console parser: `feed(text) -> list[Event]`, `close() -> list[Event]`."""
        return self.module("console").Parser()

    def parse(self, lines: Iterable[str]) -> list[Event]:
        parser = self.new_parser()
        return parser.feed("".join(lines)) + parser.close()

    # several GPUs of one machine (`fluxgen train --gpus N`)
    def plan_for_gpus(self, plan: Plan, gpus: int) -> Plan:
        """The plan for data-parallel training on N GPUs (`fluxgen.multigpu.rescaled`); refused by default."""
        from fluxgen.errors import UserError

        raise UserError(f"--gpus {gpus}: fluxgen does not know how {self.name} trains on several GPUs; use --gpus 1, "
                        "or `fluxgen sweep` with one run per GPU")

    def argv_for_gpus(self, argv: list[str], gpus: int) -> list[str]:
        """The launch command for N processes."""
        return argv

    # what it leaves on disk
    def find_outputs(self, plan: Plan, run_dir: Path) -> Outputs:
        """The final LoRA, step checkpoints and samples of a run folder."""
        return self.module("files").find_outputs(plan, run_dir)

    @abstractmethod
    def resume_point(self, plan: Plan, run_dir: Path, **options: Any) -> Any:
        """The newest valid state a run can continue from, and the trainer arguments that use it
        (`fluxgen.runs.checkpoints.ResumePoint`; options: `move_broken`, `bad_from`)."""

    def check_resumable(self, point: Any, run_dir: Path) -> None:
        """Refuse a resume the trainer cannot make from this point (default: any point, step 0 included)."""
        return None

    def recognizes(self, path: Path, text: str) -> bool:
        """True for a file only this backend's own `validate` knows how to check (`fluxgen validate` asks every
        backend before sniffing the file as one of the YAML/TOML kinds)."""
        return False

    # memory advice and environment
    @abstractmethod
    def low_vram_advice(self, values: dict[str, Any], phase: str | None) -> list[str]:
        """Concrete settings to try after an out-of-memory, lightest first, for this trainer."""

    @abstractmethod
    def env_recipe(self) -> EnvRecipe:
        """How its environment is built and checked."""
