"""The run folder: `runs/<name>-<YYYYmmdd-HHMMSS>/`, created once, never reused, holding everything to repeat it.

Layout: intent.yaml, plan.json, the rendered trainer files (+ command.txt), command.json, dataset-lint.json,
manifest.json, train.log, events.jsonl, metrics.csv, and the trainer's outputs under output/.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.errors import UserError
from fluxgen.fsio import atomic_write

if TYPE_CHECKING:
    from fluxgen.plan import Plan

INTENT_NAME, COMMAND_NAME, LINT_NAME, PLAN_NAME = "intent.yaml", "command.json", "dataset-lint.json", "plan.json"
_STAMP_RE = re.compile(r"-\d{8}-\d{6}(?:-\d+)?$")


def new_run_dir(runs_root: Path, name: str, when: datetime | None = None) -> Path:
    """Create `<runs>/<name>-<timestamp>` (with `-2`, `-3`… if taken); creation is atomic, so never shared."""
    runs_root = Path(runs_root)
    base = f"{name}-{(when or datetime.now()):%Y%m%d-%H%M%S}"
    for n in range(1, 1000):
        candidate = runs_root / (base if n == 1 else f"{base}-{n}")
        try:
            runs_root.mkdir(parents=True, exist_ok=True)
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
        except OSError as exc:  # read-only, full, not a folder, no permission
            raise UserError(f"{runs_root}: cannot create a run folder here ({exc.strerror or exc}); "
                            "pass --runs DIR on a disk you can write to") from None
    raise UserError(f"{runs_root}: too many runs named {base}; remove some or use another --runs folder")


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "manifest.json").is_file() or (path / PLAN_NAME).is_file())


def find_run(ref: str | Path, runs_root: Path) -> Path:
    """A run folder from a path, a folder name under --runs, or a unique beginning of one."""
    path = Path(ref).expanduser()
    if is_run_dir(path):
        return path
    root = Path(runs_root)
    if is_run_dir(root / str(ref)):
        return root / str(ref)
    matches = sorted(p for p in root.glob(f"{ref}*") if is_run_dir(p)) if root.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(p.name for p in matches[-5:])
        raise UserError(f"{ref}: matches {len(matches)} runs in {root} ({names}); give the full folder name")
    if path.exists():
        raise UserError(f"{path}: not a run folder (no manifest.json or plan.json); give a folder made by "
                        "`fluxgen train`")
    raise UserError(f"{ref}: no such run in {root}; `fluxgen runs --runs {root}` lists them")


def run_label(run_dir: Path) -> str:
    """The run's name without its timestamp, e.g. `cyber-skull` for `cyber-skull-20260101-120000`."""
    return _STAMP_RE.sub("", run_dir.name)


@dataclass
class GivenIntent:
    """The intent as the user gave it: intent.yaml's text (the file, or the preset it names), and the command-line
    overrides recorded beside it in the manifest. The merged result is the plan's, in plan.json."""

    text: str
    source: str | None = None  # the preset name, intent file or rendered config given as INTENT
    overrides: list[dict[str, Any]] = field(default_factory=list)  # {"key", "value", "origin"}
    command: str | None = None

    def record(self) -> dict[str, Any]:
        return {"source": self.source, "overrides": self.overrides, "command": self.command}


def given_intent(ref: str | None, overrides: list[tuple[str, Any, str]], command: str | None = None) -> GivenIntent:
    """What the user gave: an intent file's own text, a preset as `extends: <name>`, a rendered config's embedded
    intent (what reproduce plans from), or nothing but options (`{}`)."""
    import yaml

    from fluxgen.kinds import KINDS
    from fluxgen.presets import embedded_intent

    records = [{"key": key, "value": value, "origin": origin} for key, value, origin in overrides]
    if ref is None:
        text = "{}\n"
    elif ref not in KINDS and Path(ref).expanduser().is_file():
        path = Path(ref).expanduser()
        embedded = embedded_intent(path)
        if embedded is not None:
            body = yaml.safe_dump(embedded.get("intent", {}), sort_keys=True, allow_unicode=True)
            text = f"# the intent embedded in the header of {path.name}\n{body}"
        else:
            text = path.read_text(encoding="utf-8")
    else:
        text = f"extends: {ref}\n"
    return GivenIntent(text, ref, records, command)


def intent_text(plan: Plan) -> str:
    """intent.yaml for a plan made in code (no INTENT given by a user): its merged intent, absolute paths."""
    import yaml

    lines = ["# The intent of this run. Plan it again with: fluxgen plan <this file>",
             f"# from: {' < '.join(plan.chain) or 'the command line'}"]
    body = yaml.safe_dump(plan.intent, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return "\n".join(lines) + "\n" + body


def write_run_files(run_dir: Path, plan: Plan, launch: Any, *, given: GivenIntent | None,
                    force: bool = False) -> list[str]:
    """Render the plan's files and plan.json into the run folder, then intent.yaml, command.json and the lint
    report; returns the names of the files that describe the run (hashed in the manifest)."""
    from fluxgen.render import render_plan_to

    written = render_plan_to(plan, run_dir, force=force)
    atomic_write(run_dir / INTENT_NAME, given.text if given is not None else intent_text(plan))
    atomic_write(run_dir / COMMAND_NAME, json.dumps(launch.record(), indent=2, ensure_ascii=False) + "\n")
    names = [p.name for p in written] + [INTENT_NAME, COMMAND_NAME]
    if plan.dataset_lint is not None:
        atomic_write(run_dir / LINT_NAME, json.dumps(plan.dataset_lint, indent=2, ensure_ascii=False) + "\n")
        names.append(LINT_NAME)
    return names


def load_plan(run_dir: Path) -> Any:
    from fluxgen.plan import Plan

    path = Path(run_dir) / PLAN_NAME
    try:
        plan = Plan.from_dict(json.loads(path.read_text(encoding="utf-8")))
        if not isinstance(plan.backend, str) or not isinstance(plan.values["name"], str):
            raise TypeError("values.backend and values.name must be strings")
        return plan
    except FileNotFoundError:
        raise UserError(f"{path}: missing; the run folder is incomplete") from None
    except (json.JSONDecodeError, KeyError, UnicodeDecodeError, TypeError, ValueError, AttributeError,
            RecursionError) as exc:
        raise UserError(f"{path}: damaged ({type(exc).__name__}: {exc}); the run cannot be resumed, reproduce it "
                        "from its config file instead") from None


def main_file(run_dir: Path, backend: str | None = None) -> Path:
    """The rendered trainer file that carries the fluxgen-intent header (config.yaml, args.toml, train.yaml)."""
    from fluxgen.backends import BACKENDS

    names = [BACKENDS[backend].main_file] if backend in BACKENDS else [b.main_file for b in BACKENDS.values()]
    for name in names:
        if (Path(run_dir) / name).is_file():
            return Path(run_dir) / name
    raise UserError(f"{run_dir}: no rendered trainer file ({', '.join(names)}) in the run folder")
