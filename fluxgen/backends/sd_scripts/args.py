"""Read sd-scripts options from an args TOML (`--config_file`) or a command line into one shape, checking
names and types the way each channel treats them: argparse converts command-line strings, the TOML is taken
as is (no conversion, no choices check)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxgen.knowledge import ArgSpec, sd_scripts_args, sd_scripts_facts
from fluxgen.validate.report import Finding, describe

_NEGATIVE = re.compile(r"^-\d+$|^-\d*\.\d+$")
_PERCENT = re.compile(r"^\d+(\.\d+)?%$")


@dataclass
class SdArgs:
    """Options given explicitly (after TOML flattening or argv parsing), with where each was written."""

    given: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    origin: str = "toml"  # toml | command
    complete: bool = True  # False when part of the options live in a file that could not be read
    accelerate: dict[str, Any] = field(default_factory=dict)
    base_dir: Path | None = None

    def has(self, name: str) -> bool:
        return name in self.given

    def get(self, name: str) -> Any:
        return self.given[name] if name in self.given else sd_scripts_args()[name].default

    def path(self, name: str) -> str:
        return self.paths.get(name) or (f"--{name}" if self.origin == "command" else name)


def unknown_option(name: str, path: str, names: list[str]) -> Finding:
    """An option flux_train_network.py does not define, with the closest one or the ones that exist instead."""
    on_cli = path.startswith("-")
    effect = ("argparse stops with 'unrecognized arguments'" if on_cli
              else "sd-scripts accepts it silently and never reads it")
    missing = sd_scripts_facts().known_missing.get(name)
    if missing:
        shown = ", ".join(f"--{m}" for m in missing[:4])
        return Finding("error", path, f"sd-scripts has no such option (no version of sd-scripts has it; {effect})",
                       f"shape timesteps with {shown}", "sd-unknown-option")
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f" (did you mean '{'--' if on_cli else ''}{close[0]}'?)" if close else ""
    fix = f"write {'--' if on_cli else ''}{close[0]}" if close else "remove it"
    return Finding("error", path, f"sd-scripts has no such option{hint}; {effect}", fix, "sd-unknown-option")


# ---- args TOML --------------------------------------------------------------------------------------------

def args_from_toml(data: dict[str, Any]) -> tuple[SdArgs, list[Finding]]:
    """Flatten one level as read_config_from_file does, then check each key's name and type."""
    args, findings = SdArgs(origin="toml"), []
    specs = sd_scripts_args()
    for key, value in data.items():
        section = isinstance(value, dict) and key not in specs
        for name, item in value.items() if section else [(key, value)]:
            path = f"{key}.{name}" if section else name
            if name in args.given:
                findings.append(Finding("warning", path, f"also set at {args.paths[name]}; this later one wins",
                                        "keep one of them", "sd-duplicate"))
            args.given[name], args.paths[name] = item, path
    for name, value in args.given.items():
        spec = specs.get(name)
        if spec is None:
            if not isinstance(value, dict):
                findings.append(unknown_option(name, args.paths[name], list(specs)))
            else:
                findings.append(Finding("error", args.paths[name], "a table nested two levels deep is not "
                                        "flattened; sd-scripts keeps it as one unread value",
                                        "move its keys up one level", "sd-nested-table"))
            continue
        findings += toml_type(spec, value, args.paths[name])
    return args, findings


def toml_type(spec: ArgSpec, value: Any, path: str) -> list[Finding]:
    """Types as the script will see them: TOML values are never converted."""
    if spec.nargs == "*":
        if not isinstance(value, list):
            return [Finding("error", path, f"is {describe(value)}; this option takes a list and sd-scripts would "
                            "walk the string character by character", f'write {path.split(".")[-1]} = [ ... ]',
                            "sd-type")]
        return [f for i, item in enumerate(value) for f in toml_type(_single(spec), item, f"{path}[{i}]")]
    problem = _toml_problem(spec, value)
    return [Finding(problem[0], path, problem[1], problem[2], "sd-type")] if problem else []


def _single(spec: ArgSpec) -> ArgSpec:
    return ArgSpec(spec.name, spec.type, None, None, spec.choices, spec.known_values, spec.group, spec.defined_at)


def _toml_problem(spec: ArgSpec, value: Any) -> tuple[str, str, str] | None:
    kind, got = spec.type, describe(value)
    if kind == "flag":
        return None if isinstance(value, bool) else ("error", f"is {got}; this flag takes true or false",
                                                     "write true or false")
    if isinstance(value, bool):
        return ("warning", f"is {got}; Python treats it as {int(value)}", "write a number")
    if kind == "int":
        if isinstance(value, int):
            return None
        fix = f"write {value} without quotes" if isinstance(value, str) and value.strip().isdigit() else \
            "write a whole number"
        return ("error", f"is {got}; sd-scripts does not convert TOML values and needs an int", fix)
    if kind in {"float", "int_or_float"}:
        if isinstance(value, float) or (kind == "int_or_float" and isinstance(value, int)):
            return None
        if isinstance(value, int):
            return ("info", f"is an int ({value}); fine for Python", f"write {value}.0 to make it a float")
        if kind == "int_or_float" and isinstance(value, str) and _PERCENT.match(value):
            return None
        return ("error", f"is {got}; sd-scripts does not convert TOML values and needs a number",
                "write the number without quotes")
    if not isinstance(value, str):
        return ("error", f"is {got}; sd-scripts reads a string here", f'write "{value}" in quotes')
    return None


# ---- command line -----------------------------------------------------------------------------------------

def args_from_argv(tokens: list[str]) -> tuple[SdArgs, list[Finding]]:
    """Parse the script's part of a command line as argparse would (allow_abbrev, nargs, type conversion)."""
    args, findings = SdArgs(origin="command"), []
    specs = sd_scripts_args()
    names = sorted(specs) + ["help"]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        stray = _non_option(token)
        if stray or token in ("-h", "--help"):
            findings += [stray] if stray else []
            continue
        written, has_inline, inline = token.partition("=")
        if written.startswith("--"):
            name, finding = _resolve(written[2:], written, names)
        else:  # argparse matches prefixes of long options only
            name, finding = None, unknown_option(written.lstrip("-"), written, names[:-1])
        findings += [finding] if finding else []
        if name is None:
            i = _skip_values(tokens, i)
            continue
        if name == "help":
            continue
        spec = specs[name]
        values, i, problem = _take_values(spec, tokens, i, inline if has_inline else None, written)
        if problem:
            findings.append(problem)
            continue
        if name in args.given:
            findings.append(Finding("warning", f"--{name}", "given twice; argparse keeps the last value",
                                    "keep one of them", "sd-duplicate"))
        converted, errs = _convert(spec, values, f"--{name}")
        findings += errs
        if not errs:
            args.given[name], args.paths[name] = converted, f"--{name}"
    return args, findings


def _non_option(token: str) -> Finding | None:
    if token.startswith("$"):
        return Finding("info", token, "shell expansion; its contents are not checked", "", "sd-shell-expansion")
    if not token.startswith("-") or _NEGATIVE.match(token) or token == "-":
        return Finding("error", token, "unexpected argument: argparse stops with 'unrecognized arguments'",
                       "remove it, or put it after the option it belongs to", "sd-stray-argument")
    return None


def _skip_values(tokens: list[str], i: int) -> int:
    while i < len(tokens) and _is_value(tokens[i]):
        i += 1
    return i


def _is_value(token: str) -> bool:
    return not token.startswith("-") or bool(_NEGATIVE.match(token))


def _resolve(name: str, written: str, names: list[str]) -> tuple[str | None, Finding | None]:
    if name in names:
        return name, None
    matches = [n for n in names if n.startswith(name)] if name else []
    if len(matches) == 1:
        return matches[0], Finding("warning", written, f"abbreviation of --{matches[0]}; argparse accepts a unique "
                                   "prefix, but a new option could make it ambiguous", f"write --{matches[0]}",
                                   "sd-abbreviation")
    if len(matches) > 1:
        shown = ", ".join(f"--{m}" for m in matches[:6])
        return None, Finding("error", written, f"ambiguous option: could match {shown}",
                             "write the full option name", "sd-ambiguous")
    return None, unknown_option(name, written, names[:-1])


def _take_values(spec: ArgSpec, tokens: list[str], i: int, inline: str | None,
                 written: str) -> tuple[list[str], int, Finding | None]:
    if spec.type == "flag":
        if inline is not None:
            return [], i, Finding("error", written, "is a flag and takes no value", f"write --{spec.name} alone",
                                  "sd-flag-value")
        return [], i, None
    if inline is not None:
        return [inline], i, None
    if spec.nargs == "*":
        start = i
        while i < len(tokens) and _is_value(tokens[i]):
            i += 1
        return tokens[start:i], i, None
    if i < len(tokens) and _is_value(tokens[i]):
        return [tokens[i]], i + 1, None
    return [], i, Finding("error", written, "expects a value", f"write --{spec.name} VALUE", "sd-missing-value")


def _convert(spec: ArgSpec, values: list[str], path: str) -> tuple[Any, list[Finding]]:
    if spec.type == "flag":
        return True, []
    out, errors = [], []
    for raw in values:
        try:
            out.append(_convert_one(spec.type, raw))
        except ValueError:
            errors.append(Finding("error", path, f"invalid {spec.type} value: {raw!r}",
                                  "write a whole number" if spec.type == "int" else "write a number", "sd-type"))
    if spec.nargs == "*":
        return out, errors
    return (out[0] if out else None), errors


def _convert_one(kind: str, raw: str) -> Any:
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "int_or_float":
        if _PERCENT.match(raw):
            return raw
        try:
            return int(raw)
        except ValueError:
            return float(raw)
    return raw
