"""One formatter for pydantic's errors, so every schema fluxgen reads (the intent, the builtin trainer's config, the
user config, a run's manifest) says its problems the same way: `dotted.path: message`, one line each, with "did you mean" for an
unknown key and for a value outside a fixed set of choices.

A schema says only what is its own (`ErrorStyle`): where to look for the closest key, what its keys are called,
and wording of its own for some errors. pydantic itself is not imported here: this module only reads errors.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Suggest = Callable[[str, list[str]], str | None]


def dotted_path(loc: tuple[Any, ...]) -> str:
    """`train.lr`, `datasets.0.folder`: how a path is written in the YAML files fluxgen reads."""
    return ".".join(str(p) for p in loc) or "(top level)"


def indexed_path(loc: tuple[Any, ...]) -> str:
    """`attempts[0].pid`: how a path is written in a JSON record."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "(top level)"


def closest_sibling(dotted: str, siblings: list[str]) -> str | None:
    """The closest key at the same level (`network.rnak` → `network.rank`)."""
    parts = dotted.split(".")
    close = difflib.get_close_matches(parts[-1], siblings, n=1, cutoff=0.6)
    return ".".join([*parts[:-1], close[0]]) if close else None


@dataclass(frozen=True)
class ErrorStyle:
    """What the shared formatter needs to know about one schema; everything else is worded the same for all."""

    root: Any  # the pydantic model the errors are about
    suggest: Suggest = closest_sibling  # (dotted key, keys at its level) -> the key meant, or None
    choices: bool = True  # a value outside a Literal: "'x' is not allowed (did you mean 'y'? choose one of …)"
    noun: Callable[[tuple[Any, ...]], str] = lambda loc: "key"  # "unknown key", "unknown section"
    path: Callable[[tuple[Any, ...]], str] = dotted_path
    own: Callable[[dict[str, Any], tuple[Any, ...]], str | None] | None = None  # the schema's own wording


def format_errors(exc: Any, style: ErrorStyle) -> list[str]:
    """Every error of a pydantic `ValidationError`, as `dotted.path: message`."""
    return [format_error(err, style) for err in exc.errors()]


def format_error(err: dict[str, Any], style: ErrorStyle) -> str:
    """One pydantic error (a dict of `ValidationError.errors()`) as `dotted.path: message`."""
    loc = tuple(err["loc"])
    dotted = style.path(loc)
    own = style.own(err, loc) if style.own is not None else None
    if own is not None:
        return f"{dotted}: {own}"
    if err["type"] == "extra_forbidden":
        return f"{dotted}: unknown {style.noun(loc)}{_unknown_hint(dotted, loc, style)}"
    if err["type"] == "missing":
        return f"{dotted}: required key is missing"
    if err["type"] == "literal_error" and style.choices and isinstance(err.get("input"), str):
        expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        close = difflib.get_close_matches(err["input"], expected, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"{dotted}: '{err['input']}' is not allowed ({hint}choose one of {', '.join(expected)})"
    got = err.get("input")
    shown = f" (got {got!r})" if not isinstance(got, dict | list) and got is not None else ""
    return f"{dotted}: {err['msg'].removeprefix('Value error, ')}{shown}"


def _unknown_hint(dotted: str, loc: tuple[Any, ...], style: ErrorStyle) -> str:
    """` (did you mean 'rank'?)`, the full path when the key meant is in another section, else the known keys."""
    parent = model_at(style.root, loc[:-1])
    allowed = list(parent.model_fields) if parent is not None else []
    close = style.suggest(dotted, allowed)
    if close:
        same_section = close.rsplit(".", 1)[0] == dotted.rsplit(".", 1)[0] or "." not in close
        return f" (did you mean '{close.split('.')[-1] if same_section else close}'?)"
    return f" (known {style.noun(loc)}s: {', '.join(allowed)})" if allowed else ""


def model_at(root: Any, path: tuple[Any, ...]) -> Any:
    """The model a path of field names leads to from `root` (list indexes skipped, `X | None` unwrapped); None
    when the path leaves the models."""
    model = root
    for part in path:
        if not isinstance(part, str):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return None
        nested = _model_in(info.annotation)
        if nested is None:
            return model
        model = nested
    return model


def _model_in(annotation: Any) -> Any:
    """The pydantic model an annotation holds (`Section`, `Section | None`, `list[Entry] | None`), or None."""
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return annotation
    if typing.get_origin(annotation) is list:
        return _model_in(typing.get_args(annotation)[0]) if typing.get_args(annotation) else None
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
