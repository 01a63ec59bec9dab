"""Checks on sd-scripts option values shared by the args TOML and the command line: choices, optimizer and
scheduler names, and the `key=value` lists (--network_args, --optimizer_args)."""

from __future__ import annotations

import ast
import difflib
import re
from typing import Any

from fluxgen.backends.sd_scripts.args import SdArgs
from fluxgen.knowledge import sd_scripts_args, sd_scripts_network_args
from fluxgen.validate.report import Finding

# torch.optim classes: sd-scripts looks an unlisted, undotted --optimizer_type up there (case-sensitive).
TORCH_OPTIMIZERS = ("ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "NAdam", "RAdam",
                    "RMSprop", "Rprop", "SGD", "SparseAdam")
# diffusers SchedulerType names sd-scripts resolves --lr_scheduler with, beside the ones its help lists.
EXTRA_SCHEDULERS = ("piecewise_constant",)
_INDICES = re.compile(r"^(all|none|\d+(-\d+)?(,\d+(-\d+)?)*)$")


def check_values(args: SdArgs) -> list[Finding]:
    out: list[Finding] = []
    specs = sd_scripts_args()
    for name, value in args.given.items():
        spec = specs.get(name)
        if spec is None or not spec.choices:
            continue
        for item in value if isinstance(value, list) else [value]:
            if item not in spec.choices and (spec.type != "int" or isinstance(item, int)):
                shown = ", ".join(repr(c) for c in spec.choices)
                out.append(Finding("error", args.path(name), f"invalid choice {item!r} (choose from {shown})",
                                   _choice_fix(item, spec.choices), "sd-choice"))
    return out + _optimizer(args) + _scheduler(args) + network_args(args) + optimizer_args(args)


def _choice_fix(value: Any, choices: tuple[Any, ...]) -> str:
    if isinstance(value, str):
        for choice in choices:
            if isinstance(choice, str) and choice.lower() == value.lower():
                return f"write {choice!r} (choices are case-sensitive)"
    if value == "None" and None in choices:
        return "leave the option out to get None"
    return "use one of the listed values"


def _optimizer(args: SdArgs) -> list[Finding]:
    value = args.given.get("optimizer_type")
    if not isinstance(value, str) or not value:
        return []
    known = sd_scripts_args()["optimizer_type"].known_values or ()
    if value.lower() in {k.lower() for k in known} or value in TORCH_OPTIMIZERS:
        return []
    path = args.path("optimizer_type")
    if "." in value:
        return [Finding("info", path, f"'{value}' is imported as a class path; fluxgen cannot check it", "",
                        "sd-optimizer")]
    close = difflib.get_close_matches(value.lower(), [k.lower() for k in known], n=1)
    hint = next((f" (did you mean '{k}'?)" for k in known if close and k.lower() == close[0]), "")
    return [Finding("error", path, f"unknown optimizer '{value}'{hint}; sd-scripts would look for torch.optim.{value}",
                    f"use one of {', '.join(known)} (case does not matter)", "sd-optimizer")]


def _scheduler(args: SdArgs) -> list[Finding]:
    value = args.given.get("lr_scheduler")
    if not isinstance(value, str) or args.given.get("lr_scheduler_type"):
        return []
    known = (sd_scripts_args()["lr_scheduler"].known_values or ()) + EXTRA_SCHEDULERS
    if value in known:
        return []
    close = difflib.get_close_matches(value, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return [Finding("error", args.path("lr_scheduler"), f"unknown scheduler '{value}'{hint}",
                    f"use one of {', '.join(known)}", "sd-scheduler")]


def split_network_args(args: SdArgs) -> dict[str, str]:
    """--network_args items as lora_flux receives them (split on the first '='); items without '=' skipped."""
    items = args.given.get("network_args")
    return dict(i.split("=", 1) for i in items if isinstance(i, str) and "=" in i) if isinstance(items, list) else {}


def network_args(args: SdArgs) -> list[Finding]:
    items = args.given.get("network_args")
    if not isinstance(items, list):
        return []
    specs, path, out = sd_scripts_network_args(), args.path("network_args"), []
    for item in items:
        if not isinstance(item, str):
            continue
        if "=" not in item:
            out.append(Finding("error", path, f"item '{item}' has no '='; sd-scripts stops with a ValueError",
                               "write each item as key=value", "sd-network-args"))
            continue
        key, value = item.split("=", 1)
        spec = specs.get(key)
        if spec is None:
            close = difflib.get_close_matches(key, list(specs), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.append(Finding("warning", path, f"networks.lora_flux does not read '{key}'{hint}; it is ignored",
                               "remove it or fix the key", "sd-network-args"))
            continue
        problem = _network_value(spec.kind, value, spec.choices, spec.length)
        if problem:
            out.append(Finding(problem[0], path, f"{key}={value}: {problem[1]}", problem[2], "sd-network-args"))
    return out


def _network_value(kind: str, value: str, choices: tuple[str, ...] | None,
                   length: int | None) -> tuple[str, str, str] | None:
    if kind == "bool_str" and value != "True" and value != "False":
        return ("warning", "only the exact string True turns it on; this is read as False", "write True or False")
    if kind in {"int", "float"}:
        try:
            (int if kind == "int" else float)(value)
        except ValueError:
            return ("error", f"is not {'an int' if kind == 'int' else 'a number'}", "write a number")
    if kind == "choice" and choices and value not in choices:
        return ("error", f"must be one of {', '.join(choices)}; sd-scripts asserts it", f"use {choices[0]}")
    if kind == "block_indices" and not _INDICES.match(value.replace(" ", "")):
        return ("error", "is not a list of block indices", "write e.g. 0,1,8-12, all or none")
    if kind == "int_list":
        try:
            parsed = ast.literal_eval(value)
            good = isinstance(parsed, list | tuple) and len(parsed) == length and all(isinstance(x, int)
                                                                                      for x in parsed)
        except (ValueError, SyntaxError):
            good = False
        if not good:
            return ("error", f"must be a list of {length} ints", "write e.g. [4,2,2,2,4]")
    if kind == "regex_map" and not all("=" in part for part in value.split(",")):
        return ("error", "must be regex=value pairs separated by commas", "write e.g. single_blocks=1e-4")
    return None


def optimizer_args(args: SdArgs) -> list[Finding]:
    """Each item is split on every '=' and its value passed through ast.literal_eval."""
    items = args.given.get("optimizer_args")
    if not isinstance(items, list):
        return []
    path, out = args.path("optimizer_args"), []
    for item in items:
        if not isinstance(item, str):
            continue
        if item.count("=") != 1:
            fix = ("give each setting as its own item: " + " ".join(f'"{p}"' for p in item.split())
                   if item.count("=") > 1 and " " in item else "write key=value")
            out.append(Finding("error", path, f"item '{item}' must hold exactly one '='; sd-scripts stops with a "
                               "ValueError", fix, "sd-optimizer-args"))
            continue
        key, value = item.split("=")
        try:
            ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out.append(Finding("error", path, f"{key}={value}: the value is not a Python literal, so sd-scripts "
                               "cannot read it", "write True/False, a number, a tuple like 0.9,0.999 or a quoted "
                               "string", "sd-optimizer-args"))
    return out
