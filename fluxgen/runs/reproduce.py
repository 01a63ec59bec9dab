"""Reproduce a colleague's run from its folder or from one generated config file.

The rendered file's header carries the intent (`fluxgen-intent:`), so it plans again anywhere; `--images` and
`--model` map their paths to local ones. Before training, fluxgen says what differs from their run: the dataset
(fingerprint), the trainer commit, the fluxgen version and the plan's values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen import __version__
from fluxgen.errors import UserError

if TYPE_CHECKING:
    from fluxgen.plan import Plan
    from fluxgen.runs.manifest import RunManifest

_FINGERPRINT_RE = re.compile(r'fluxgen\.dataset_fingerprint\\?"\s*:\s*\\?"(sha256:[0-9a-f]+)')
MACHINE_KEYS = ("dataset", "model_path", "model.transformer", "model.clip_l", "model.t5xxl", "model.ae", "fingerprint")


@dataclass
class Source:
    """What is known about the run to reproduce: its config file, and its record when a run folder is given."""

    given: Path
    config: Path
    run_dir: Path | None = None
    manifest: RunManifest | None = None  # their record, when a run folder is given
    plan: Plan = None  # their Plan, from plan.json
    fingerprint: str | None = None
    fluxgen_version: str | None = None
    plan_hash: str | None = None
    trainer_pin: str | None = None  # the pin their fluxgen rendered for
    trainer_commit: str | None = None  # their checkout's actual commit, when recorded


def read_source(ref: str | Path) -> Source:
    """A run folder (its main rendered file) or a rendered config file with a fluxgen-intent header."""
    from fluxgen.header import Header
    from fluxgen.runs.folder import is_run_dir, load_plan, main_file
    from fluxgen.runs.manifest import read_manifest

    path = Path(ref).expanduser()
    if is_run_dir(path):
        manifest = read_manifest(path)
        source = Source(path, main_file(path, manifest.backend), path, manifest, load_plan(path))
    elif path.is_file():
        source = Source(path, path)
    else:
        raise UserError(f"{ref}: no such run folder or config file")
    header = Header.read(source.config)
    if header is None or header.intent is None:
        raise UserError(f"{source.config}: has no fluxgen-intent header, so it cannot be planned again; give a "
                        "run folder or a file rendered by fluxgen")
    text = source.config.read_text(encoding="utf-8", errors="replace")
    if m := _FINGERPRINT_RE.search(text):
        source.fingerprint = m[1]
    source.fluxgen_version, source.plan_hash, source.trainer_pin = header.fluxgen_version, header.plan_hash, header.pin
    if source.manifest is not None:
        trainer = source.manifest.trainer or {}
        source.fingerprint = (source.manifest.dataset or {}).get("fingerprint") or source.fingerprint
        source.fluxgen_version = source.manifest.fluxgen_version or source.fluxgen_version
        source.trainer_pin = trainer.get("pin") or source.trainer_pin
        source.trainer_commit = trainer.get("commit") or source.trainer_commit
    return source


def trainer_differences(source: Source, trainer: Any, commit_of: Any) -> list[str]:
    """Their trainer (the checkout's commit when recorded, else the pin their config was rendered for) against
    yours (your checkout's commit, else your pin)."""
    backend, mine = trainer.backend, commit_of(trainer.dir)
    theirs = source.trainer_commit or source.trainer_pin
    their_what = "their checkout" if source.trainer_commit else "the pin their config was rendered for"
    yours = mine or trainer.pin
    your_what = "your checkout" if mine else "your pin; your checkout's commit is unknown"
    notes = []
    if theirs and yours and not _same_commit(theirs, yours):
        notes.append(f"trainer {backend} differs: theirs at {theirs[:12]} ({their_what}), yours at {yours[:12]} "
                     f"({your_what})")
    elif not theirs:
        notes.append(f"trainer {backend}: their commit is not recorded (neither a run record nor a trainer pin "
                     "in the config's header)")
    if not mine:
        notes.append(f"trainer {backend}: your checkout's commit is unknown ({trainer.dir} has no git metadata); "
                     f"the pin is {trainer.pin[:12] if trainer.pin else '?'}")
    if source.trainer_pin and trainer.pin and not _same_commit(source.trainer_pin, trainer.pin):
        notes.append(f"fluxgen's {backend} pin differs: theirs {source.trainer_pin[:12]}, yours {trainer.pin[:12]}")
    return notes


def _same_commit(a: str, b: str) -> bool:
    """Commits compared as far as the shorter one goes (a header may carry an abbreviated one)."""
    n = min(len(a), len(b))
    return n >= 7 and a[:n] == b[:n]


def model_override(model: str | None) -> list[str]:
    """`--model PATH`: a diffusers folder becomes model.base, a single file the transformer file."""
    if not model:
        return []
    path = Path(model).expanduser()
    if path.is_dir():
        return [f"model.base={path.resolve()}"]
    if path.is_file():
        return [f"model.transformer={path.resolve()}"]
    raise UserError(f"{model}: no such model folder or file (--model)")


def plan_reproduction(source: Source, *, images: str | None = None, model: str | None = None,
                      sets: tuple[str, ...] | list[str] = ()) -> Any:
    from fluxgen.plan import PlanOptions, build_plan

    overrides = [*model_override(model), *sets]
    _check_model_paths(source, overrides)
    options = PlanOptions(images=images, sets=overrides)
    return build_plan(str(source.config), options)


def _check_model_paths(source: Source, overrides: list[str]) -> None:
    """Their local model files are rarely on this machine: say which option maps them, before planning fails
    on a path that means nothing here."""
    from fluxgen.presets import embedded_intent

    model = ((embedded_intent(source.config) or {}).get("intent") or {}).get("model") or {}
    given = {item.split("=", 1)[0].strip() for item in overrides}
    for key in ("base", "transformer", "clip_l", "t5xxl", "ae"):
        value = model.get(key)
        if f"model.{key}" in given or not _is_missing_local(value):
            continue
        if key in ("base", "transformer") and not given & {"model.base", "model.transformer"}:
            raise UserError(f"{source.config}: their base model {value} is not on this machine; pass --model PATH "
                            "(your copy: a diffusers folder, or the transformer file)")
        if key not in ("base", "transformer"):
            raise UserError(f"{source.config}: their model.{key} file {value} is not on this machine; pass "
                            f"--set model.{key}=PATH")


def _is_missing_local(value: Any) -> bool:
    """A filesystem path (not `dev`, a hub id or `hf://…`) that does not exist here."""
    if not isinstance(value, str) or value.startswith("hf://"):
        return False
    if not value.startswith(("/", "~", ".")) and "\\" not in value:
        return False
    return not Path(value).expanduser().exists()


def differences(source: Source, plan: Plan) -> list[str]:
    """What differs between their run and the one about to start, one line each (empty: nothing known differs)."""
    from fluxgen.checkouts import checkout_commit, locate

    notes = []
    ours = plan.values.get("fingerprint")
    if source.fingerprint and ours and source.fingerprint != ours:
        theirs_n = ((source.manifest.dataset if source.manifest else None) or {}).get("images")
        count = f" ({theirs_n} images, yours {plan.values.get('images')})" if theirs_n is not None else ""
        notes.append(f"dataset differs: theirs {source.fingerprint}, yours {ours} at {plan.values['dataset']}{count}")
    elif not source.fingerprint:
        notes.append("dataset: their fingerprint is not recorded, so it cannot be compared")
    trainer = locate(plan.backend)
    if trainer.dir is not None:  # a trainer with a checkout of its own (not fluxgen's)
        notes += trainer_differences(source, trainer, checkout_commit)
    notes += environment_differences(source, plan)
    if source.fluxgen_version and source.fluxgen_version != __version__:
        notes.append(f"fluxgen differs: theirs {source.fluxgen_version}, yours {__version__}")
    if source.plan is not None:
        changed = [k for k in sorted(set(source.plan.values) | set(plan.values))
                   if k not in MACHINE_KEYS and source.plan.values.get(k) != plan.values.get(k)]
        if changed:
            notes.append("plan values differ: " + ", ".join(changed[:12]) + (" …" if len(changed) > 12 else ""))
    elif source.plan_hash and source.plan_hash != plan.hash:
        notes.append(f"plan differs from the one in the file (theirs {source.plan_hash}, yours {plan.hash}): the "
                     "same intent resolves differently here (data, paths or what this machine supports); "
                     "`fluxgen plan` on the file shows every value and its origin")
    return notes


def environment_differences(source: Source, plan: Any) -> list[str]:
    """Their run's environment lock (when it recorded one) against the environment this run would use."""
    from fluxgen.checkouts import locate
    from fluxgen.envs.runlock import lock_differences, run_lock

    lock = run_lock(source.run_dir, source.manifest) if source.run_dir and source.manifest else None
    if lock is None:  # not run in a `fluxgen setup` environment: nothing precise to compare
        return []
    return lock_differences(lock, locate(plan.backend))


def setup_from_lock(source: Source, *, src: str | None, withs: dict[str, Path]) -> None:
    """`reproduce --setup`: build the trainer's environment pinned to every version of the run's lock."""
    import tempfile

    from fluxgen.envs.present import run_setup
    from fluxgen.envs.runlock import constraints_from_lock, run_lock

    lock = run_lock(source.run_dir, source.manifest) if source.run_dir and source.manifest else None
    if lock is None:
        raise UserError(f"{source.given}: has no env.lock.json to build from (only runs in a `fluxgen setup` "
                        "environment record one); run without --setup")
    from fluxgen.envs.home import find_env
    from fluxgen.envs.recipes import recipe_for

    current = find_env(lock["backend"], recipe_for(lock["backend"]).pin)
    if current is not None and current.lock().get("hash") == lock.get("hash"):
        return  # the environment in use was built to this very lock
    torch = (lock.get("torch") or {}).get("requested") or "auto"
    with tempfile.TemporaryDirectory(prefix="fluxgen-lock-") as folder:
        constraints = constraints_from_lock(lock, Path(folder) / "constraints.txt")
        run_setup(lock["backend"], source=src, python=None, torch=torch, withs=withs, home=None, offline=False,
                  wheels=None, force=True, constraints=constraints)
