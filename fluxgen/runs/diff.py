"""`fluxgen diff A B`: two runs or two configs, value by value, each side with the origin of its value.

A side is a run folder (its plan.json and manifest), a plan.json, or a file rendered by fluxgen (planned again
from its header; if its dataset is not on this machine, its intent is compared instead).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.errors import UserError

if TYPE_CHECKING:
    from fluxgen.runs.manifest import RunManifest

# Facts of a run's record compared besides the plan values (manifest key path → label).
RECORD_FACTS = (("fluxgen_version",), ("trainer", "commit"), ("trainer", "pin"), ("env_lock", "hash"),
                ("python",), ("dataset", "fingerprint"),
                ("status",), ("exit_code",), ("last_step",), ("last_loss",))


@dataclass
class Side:
    label: str
    values: dict[str, Any]
    origins: dict[str, str]
    facts: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # rendered file name -> sha256
    note: str | None = None
    packages: dict[str, str] = field(default_factory=dict)  # the lock's every package, else the manifest's key ones


@dataclass
class Row:
    key: str
    a: Any
    b: Any
    a_origin: str | None
    b_origin: str | None


@dataclass
class Diff:
    a: Side
    b: Side
    values: list[Row]
    facts: list[Row]
    files: list[str]  # rendered files whose content differs
    packages: list[Any] = field(default_factory=list)  # lock.Change per package that differs

    @property
    def same(self) -> bool:
        return not (self.values or self.facts or self.files or self.packages)


def read_side(ref: str | Path) -> Side:
    from fluxgen.runs.folder import is_run_dir
    from fluxgen.runs.manifest import read_manifest

    path = Path(ref).expanduser()
    if is_run_dir(path):
        plan = _plan_json(path / "plan.json")
        manifest = read_manifest(path)
        record = manifest.model_dump()
        facts = {".".join(k): _get(record, k) for k in RECORD_FACTS}
        return Side(str(path), plan.get("values", {}), plan.get("origins", {}), facts, manifest.files or {},
                    packages=_packages(path, manifest))
    if path.is_file() and path.name.endswith(".json"):
        plan = _plan_json(path)
        return Side(str(path), plan.get("values", {}), plan.get("origins", {}))
    if path.is_file():
        return _config_side(path)
    raise UserError(f"{ref}: no such run folder, plan.json or config file")


def _packages(run_dir: Path, manifest: RunManifest) -> dict[str, str]:
    """Every package of the run's environment lock; runs without one recorded only the key packages."""
    from fluxgen.envs.lock import norm
    from fluxgen.envs.runlock import run_lock

    lock = run_lock(run_dir, manifest)
    if lock is not None:
        return dict(lock["packages"])
    return {norm(k): v for k, v in (manifest.packages or {}).items()}


def _plan_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable plan.json ({exc})") from None
    if not isinstance(data, dict) or "values" not in data:
        raise UserError(f"{path}: not a fluxgen plan (no values)")
    return data


def _config_side(path: Path) -> Side:
    from fluxgen.intent import flatten
    from fluxgen.plan import build_plan
    from fluxgen.presets import embedded_intent

    embedded = embedded_intent(path)
    if embedded is None:
        raise UserError(f"{path}: has no fluxgen-intent header; diff compares runs, plan.json files or files "
                        "rendered by fluxgen")
    try:
        plan = build_plan(str(path))
    except UserError as exc:
        intent = flatten(embedded.get("intent", {}))
        origins = {k: f"intent embedded in {path.name}" for k in intent}
        return Side(str(path), intent, origins, note=f"compared by intent: it cannot be planned here ({exc})")
    return Side(str(path), plan.values, plan.origins)


def _get(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def diff(a: str | Path, b: str | Path) -> Diff:
    left, right = read_side(a), read_side(b)
    keys = list(dict.fromkeys([*left.values, *right.values]))
    values = [Row(k, left.values.get(k), right.values.get(k), left.origins.get(k), right.origins.get(k))
              for k in keys if left.values.get(k) != right.values.get(k)]
    facts = [Row(k, left.facts.get(k), right.facts.get(k), None, None)
             for k in dict.fromkeys([*left.facts, *right.facts])
             if left.facts and right.facts and left.facts.get(k) != right.facts.get(k)]
    shared = (set(left.files) & set(right.files)) - {"command.json"}  # its cwd is the run folder: always differs
    files = sorted(n for n in shared if left.files[n] != right.files[n]
                   and not _same_but_for_origins(n, left, right, values))
    return Diff(left, right, values, facts, files, _package_changes(left, right))


def _package_changes(left: Side, right: Side) -> list[Any]:
    from fluxgen.envs.lock import compare

    if not (left.packages and right.packages):
        return []
    return compare({"packages": left.packages}, {"packages": right.packages})


def _same_but_for_origins(name: str, left: Side, right: Side, values: list[Row]) -> bool:
    """plan.json and intent.yaml also record where each value came from (a preset's path and line, the command
    line); when the values themselves are the same, a difference there is not a difference in what was trained."""
    if name == "plan.json":
        return not values
    if name == "intent.yaml":
        from fluxgen.fsio import load_yaml_text

        try:
            texts = [(Path(side.label) / name).read_text(encoding="utf-8") for side in (left, right)]
            loaded = [load_yaml_text(text, name) for text in texts]
        except (OSError, UserError):
            return False
        return loaded[0] == loaded[1] or not values
    return False


def to_dict(d: Diff) -> dict[str, Any]:
    return {
        "a": d.a.label, "b": d.b.label, "same": d.same,
        "values": [{"key": r.key, "a": r.a, "b": r.b, "a_origin": r.a_origin, "b_origin": r.b_origin}
                   for r in d.values],
        "record": [{"key": r.key, "a": r.a, "b": r.b} for r in d.facts],
        "files": d.files,
        "packages": [{"name": c.name, "a": c.a, "b": c.b} for c in d.packages],
        "notes": [n for n in (d.a.note, d.b.note) if n],
    }
