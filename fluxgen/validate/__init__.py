"""Check trainer configs against what the pinned trainers actually read: ai-toolkit YAML, sd-scripts args TOML,
dataset TOML and command lines. The same checks run on files a user wrote and on files fluxgen renders.

    validate_file(path, backend=None) -> Report        detect the kind, parse, check
    validate_text(text, kind, source) -> Report        when the text is already in memory
    check_rendered(text, kind, source, accept=()) -> Report   fluxgen's own output: raises on errors/warnings
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from fluxgen.errors import RenderMismatch, UserError
from fluxgen.validate.report import (
    BACKEND_OF_KIND,
    KIND_AITK,
    KIND_BUILTIN,
    KIND_COMMAND,
    KIND_SD_ARGS,
    KIND_SD_COMMAND,
    KIND_SD_DATASET,
    KIND_SD_PROMPTS,
    Finding,
    Report,
)

__all__ = [
    "Finding", "Report", "KIND_AITK", "KIND_SD_ARGS", "KIND_SD_COMMAND", "KIND_SD_DATASET", "check_rendered",
    "detect_kind", "validate_ai_toolkit", "validate_file", "validate_loaded", "validate_sd_args", "validate_sd_command",
    "validate_sd_dataset", "validate_text",
]
# The trainers' own validators live in their backend packages; imported when first used (they import this package).
_VALIDATORS = {
    "validate_ai_toolkit": "fluxgen.backends.ai_toolkit.validator",
    "validate_sd_args": "fluxgen.backends.sd_scripts.validator",
    "validate_sd_command": "fluxgen.backends.sd_scripts.validator",
    "validate_sd_dataset": "fluxgen.backends.sd_scripts.dataset_toml",
}


def __getattr__(name: str) -> Any:
    if name in _VALIDATORS:
        import importlib

        return getattr(importlib.import_module(_VALIDATORS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
COMMAND_SUFFIXES = {".sh", ".bash", ".bat", ".cmd", ".txt", ".ps1"}


def validate_file(path: Path | str, backend: str | None = None, env: Mapping[str, str] | None = None) -> Report:
    """Read a config or launch script, work out which trainer file it is (or trust `backend`), check it."""
    from fluxgen.backends import BACKENDS, get_backend
    from fluxgen.fsio import read_text_file

    path = Path(path)
    text = read_text_file(path)
    if backend is not None:
        return get_backend(backend).validate(path, text, env)
    owner = next((b for b in BACKENDS.values() if b.owns(path, text)), None)
    return owner.validate(path, text, env) if owner is not None else validate_loaded(path, text, None, env)


def validate_loaded(path: Path, text: str, backend: str | None = None, env: Mapping[str, str] | None = None) -> Report:
    """Detect which of the known trainer files this is (or trust `backend`), then check it: what the ai-toolkit,
    sd-scripts and builtin backends' `validate` runs."""
    backend = _canonical_backend(backend)
    from fluxgen.backends import BACKENDS

    owner = next((BACKENDS[n] for n in ([backend] if backend else BACKENDS) if BACKENDS[n].recognizes(path, text)),
                 None)
    if owner is not None:  # a trainer whose files only its own backend knows (SimpleTuner's JSON)
        return owner.validate(path, text)
    kind, data = detect_kind(path, text, backend)
    return _dispatch(kind, data, text, str(path), path.parent, env)


def validate_text(text: str, kind: str, source: str, base_dir: Path | None = None,
                  env: Mapping[str, str] | None = None) -> Report:
    """Check text of a known kind (one of the KIND_* names)."""
    data = None if kind == KIND_SD_COMMAND else _parse(text, _format_of(kind), source)
    return _dispatch(kind, data, text, source, base_dir, env)


def check_rendered(text: str, kind: str, source: str, accept: Collection[str] = (),
                   base_dir: Path | None = None) -> Report:
    """Validate a file fluxgen rendered. Any error, or a warning whose rule or path is not in `accept`, means
    fluxgen wrote something wrong: raise RenderMismatch listing the findings."""
    report = validate_text(text, kind, source, base_dir=base_dir, env={})
    accept = {*accept, "sd-hf-path"}  # hub references in a rendered file are resolved by `fluxgen train`
    bad = [f for f in report.findings if f.severity == "error"
           or (f.severity == "warning" and f.rule not in accept and f.path not in accept)]
    if bad:
        lines = "\n".join(f.line(source) for f in bad)
        raise RenderMismatch(f"{source}: the rendered file fails fluxgen's own checks:\n{lines}")
    return report


def detect_kind(path: Path, text: str, backend: str | None = None) -> tuple[str, Any]:
    """(kind, parsed data) from the suffix and content: YAML -> ai-toolkit; TOML with general/datasets ->
    dataset, other TOML -> args; scripts -> command line. `backend` refuses files that trainer cannot read."""
    from fluxgen.validate.fluxgen_files import header_backend

    suffix = path.suffix.lower()
    rendered_for = header_backend(text)
    if rendered_for is not None and rendered_for != "sd-scripts" and path.name == "command.txt":
        return KIND_COMMAND, rendered_for
    if suffix == ".txt" and "train_network" not in text and re.search(r" --[whdsg] \S", text):
        return _need(KIND_SD_PROMPTS, backend, path), None
    if suffix == ".json" and {"values", "origins"} <= set(_parse(text, "json", str(path)) or {}):
        raise UserError(f"{path}: this is a fluxgen plan, not a trainer file; validate the config next to it")
    if rendered_for == "builtin" or (suffix in {".yaml", ".yml"} and _looks_builtin(text)):
        return _need(KIND_BUILTIN, backend, path), _parse(text, "plain-yaml", str(path))
    if suffix in COMMAND_SUFFIXES and (suffix != ".txt" or "train_network" in text):
        return _need(KIND_SD_COMMAND, backend, path), None
    fmt = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}.get(suffix) or _sniff(text, path)
    if fmt == "command":
        return _need(KIND_SD_COMMAND, backend, path), None
    data = _parse(text, fmt, str(path))
    if fmt == "yaml" or (fmt == "json" and isinstance(data, dict) and ("job" in data or "config" in data)):
        return _need(KIND_AITK, backend, path), data
    if isinstance(data, dict) and ({"general", "datasets"} & set(data) or fmt == "json"):
        return _need(KIND_SD_DATASET, backend, path), data
    return _need(KIND_SD_ARGS, backend, path), data


def _looks_builtin(text: str) -> bool:
    """The builtin trainer's config has top-level model/dataset/save sections and no job/config."""
    tops = set(re.findall(r"^([A-Za-z_]+)\s*:", text, re.M))
    return {"model", "dataset", "save"} <= tops and not {"job", "config"} & tops


def _need(kind: str, backend: str | None, path: Path) -> str:
    owner = BACKEND_OF_KIND[kind]
    if backend is not None and backend != owner:
        raise UserError(f"{path}: looks like a {kind} file, which {backend} does not read; "
                        f"drop --backend or use --backend {owner}")
    return kind


def _sniff(text: str, path: Path) -> str:
    try:
        tomllib.loads(text)
        return "toml"
    except (tomllib.TOMLDecodeError, RecursionError):
        pass
    if re.search(r"^\s*job\s*:", text, re.M) or re.search(r"^\s*config\s*:", text, re.M):
        return "yaml"
    if "train_network" in text:
        return "command"
    raise UserError(f"{path}: cannot tell which trainer file this is; name it .yaml, .toml or .sh, or pass --backend")


def _format_of(kind: str) -> str:
    return {KIND_AITK: "yaml", KIND_BUILTIN: "plain-yaml"}.get(kind, "toml")


def _parse(text: str, fmt: str, source: str) -> Any:
    if fmt == "plain-yaml":
        from fluxgen.fsio import load_yaml_text

        return load_yaml_text(text, source)
    if fmt == "yaml":
        from fluxgen.backends.ai_toolkit.yaml_loader import load_aitk_yaml

        return load_aitk_yaml(text, source)
    from fluxgen.fsio import check_depth

    if fmt == "json":
        try:
            return check_depth(json.loads(text), source)
        except json.JSONDecodeError as exc:
            raise UserError(f"{source}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise UserError(f"{source}: nested too deeply to read; check the brackets") from None
    try:
        return check_depth(tomllib.loads(text), source)
    except RecursionError:
        raise UserError(f"{source}: nested too deeply to read; check the brackets") from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f":{match.group(1)}:{match.group(2)}" if match else ""
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise UserError(f"{source}{where}: not valid TOML ({message})") from None


def _dispatch(kind: str, data: Any, text: str, source: str, base_dir: Path | None,
              env: Mapping[str, str] | None) -> Report:
    """The trainer's checks, then what no trainer can run with: NaN/infinite numbers, and TOML that sd-scripts'
    reader (`toml` 0.10.2) reads differently from the standard one."""
    report = _dispatch_kind(kind, data, text, source, base_dir, env)
    parsed = data[0] if isinstance(data, tuple) else data
    report.extend(_non_finite(parsed))
    if kind in (KIND_SD_ARGS, KIND_SD_DATASET):
        report.extend(_toml_reader_differences(text, parsed))
    return report


def _non_finite(data: Any) -> list[Finding]:
    import math

    found, stack = [], [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            found.append(Finding("error", path or "(document)", f"{value} is not a number a trainer can use",
                                 "write a finite number", "non-finite"))
        elif isinstance(value, dict):
            stack += [(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return sorted(found, key=lambda f: f.path)


def _toml_reader_differences(text: str, parsed: Any) -> list[Finding]:
    """sd-scripts reads its TOML with `toml` 0.10.2, which misreads some valid TOML (a string of escaped quotes
    reads as empty, a comma inside an array's string splits it): say where it would read something else."""
    import toml

    try:
        theirs = toml.loads(text)
    except Exception as exc:  # noqa: BLE001 - any failure of that reader is what sd-scripts would hit
        return [Finding("error", "(document)", f"sd-scripts' TOML reader (toml 0.10.2) cannot read this file "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                        "simplify the value it names (plain strings, no nested inline tables)", "toml-reader")]
    if not isinstance(parsed, dict):
        return []
    found = []
    for key in sorted(set(parsed) | set(theirs)):
        if repr(parsed.get(key)) != repr(theirs.get(key)):  # repr: NaN equals itself here
            found.append(Finding("error", str(key), f"sd-scripts reads this as {theirs.get(key)!r}, not "
                                 f"{parsed.get(key)!r} (its toml 0.10.2 reader differs from the TOML standard here)",
                                 "write the value as a literal string ('…') or without escaped quotes and commas",
                                 "toml-reader"))
    return found


def _dispatch_kind(kind: str, data: Any, text: str, source: str, base_dir: Path | None,
                   env: Mapping[str, str] | None) -> Report:
    if kind == KIND_BUILTIN:
        from fluxgen.backends.builtin.validator import validate_builtin

        return validate_builtin(data, source)
    if kind == KIND_SD_PROMPTS:
        from fluxgen.backends.sd_scripts.prompts import validate_sample_prompts

        return validate_sample_prompts(text, source)
    if kind == KIND_COMMAND:
        from fluxgen.validate.fluxgen_files import validate_command_file

        return validate_command_file(text, source, str(data))
    if kind == KIND_AITK:
        parsed, findings = data if isinstance(data, tuple) else (data, [])
        from fluxgen.backends.ai_toolkit.validator import validate_ai_toolkit

        report = validate_ai_toolkit(parsed, source, text=text, env=env)
        report.extend(findings)
        return report
    from fluxgen.backends.sd_scripts.dataset_toml import validate_sd_dataset
    from fluxgen.backends.sd_scripts.validator import validate_sd_args, validate_sd_command

    if kind == KIND_SD_COMMAND:
        return validate_sd_command(text, source, base_dir=base_dir)
    if kind == KIND_SD_DATASET:
        return validate_sd_dataset(data, source)
    if kind == KIND_SD_ARGS:
        return validate_sd_args(data, source, base_dir=base_dir)
    raise ValueError(f"unknown kind {kind!r}")


def _canonical_backend(backend: str | None) -> str | None:
    if backend is None:
        return None
    from fluxgen.backends import canonical_name

    return canonical_name(backend)
