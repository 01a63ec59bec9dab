"""Does a YAML value have the type an ai-toolkit key is read as? ai-toolkit converts nothing, so a quoted
number stays a string and a string "false" is truthy."""

from __future__ import annotations

from typing import Any

from fluxgen.backends.ai_toolkit.yaml_loader import LooseFloat
from fluxgen.validate.report import describe

NUMERIC = {"int", "float", "number"}
Problem = tuple[str, str, str]  # severity, message, fix


def check_type(value: Any, types: tuple[str, ...]) -> Problem | None:
    """None when `value` is what a key of `types` expects; else (severity, message, fix)."""
    if value is None or "any" in types:
        return None
    if isinstance(value, LooseFloat):
        return _loose(value, types)
    if isinstance(value, bool):
        return _bool(value, types)
    if isinstance(value, int):
        return _int(value, types)
    if isinstance(value, float):
        return _float(value, types)
    if isinstance(value, str):
        return _str(value, types)
    if isinstance(value, list):
        return None if "list" in types else ("error", f"is a list, expected {_want(types)}", _fix_for(types))
    if isinstance(value, dict):
        return None if "dict" in types else ("error", f"is a mapping, expected {_want(types)}", _fix_for(types))
    return ("error", f"is {describe(value)}, expected {_want(types)}", _fix_for(types))


def _want(types: tuple[str, ...]) -> str:
    words = {"str": "a string", "int": "an int", "float": "a number", "number": "a number", "bool": "true/false",
             "list": "a list", "dict": "a mapping"}
    return " or ".join(dict.fromkeys(words.get(t, t) for t in types))


def _fix_for(types: tuple[str, ...]) -> str:
    if "bool" in types:
        return "write true or false"
    if "int" in types:
        return "write a whole number such as 16"
    if types and types[0] in NUMERIC:
        return "write a number such as 1.0e-4"
    if "str" in types:
        return "write a quoted string"
    if "list" in types:
        return "write a list, e.g. [512, 768]"
    return "write a mapping of keys"


def _loose(value: LooseFloat, types: tuple[str, ...]) -> Problem | None:
    if types[0] == "int" and float(value).is_integer():
        return ("warning", f"'{value.text}' is a float to ai-toolkit where an int is read", f"write {int(value)}")
    if NUMERIC & set(types):
        return ("warning", f"'{value.text}' is a float to ai-toolkit but a string to PyYAML and most YAML tools",
                f"write {value.portable()}")
    return ("error", f"is a number ({value.text}), expected {_want(types)}", _fix_for(types))


def _bool(value: bool, types: tuple[str, ...]) -> Problem | None:
    if "bool" in types:
        return None
    if NUMERIC & set(types):
        return ("warning", f"is {describe(value)} where a number is read (Python treats it as {int(value)})",
                _fix_for(types))
    return ("error", f"is {describe(value)}, expected {_want(types)}", _fix_for(types))


def _int(value: int, types: tuple[str, ...]) -> Problem | None:
    if NUMERIC & set(types):
        return None
    if "bool" in types:
        return ("warning", f"is {describe(value)} where true/false is read", "write true or false")
    return ("error", f"is {describe(value)}, expected {_want(types)}", _fix_for(types))


def _float(value: float, types: tuple[str, ...]) -> Problem | None:
    if {"float", "number"} & set(types):
        return None
    if "int" in types:
        if value.is_integer():
            return ("warning", f"is {describe(value)} where an int is read", f"write {int(value)}")
        return ("error", f"is {describe(value)}, expected a whole number", f"write {round(value)}")
    return ("error", f"is {describe(value)}, expected {_want(types)}", _fix_for(types))


def _str(value: str, types: tuple[str, ...]) -> Problem | None:
    if "str" in types:
        return None
    if NUMERIC & set(types) and _is_number(value):
        return ("error", f"is a quoted number ({value!r}); ai-toolkit reads it as a string, not a number",
                f"write {_dotted(value.strip())} without quotes")
    word = value.strip().lower()
    if "bool" in types and word in {"true", "false", "yes", "no", "on", "off"}:
        meant = "true" if word in {"true", "yes", "on"} else "false"
        return ("error", f"is the string {value!r}; any non-empty string counts as true", f"write {meant} without quotes")
    return ("error", f"is {describe(value)}, expected {_want(types)}", _fix_for(types))


def _is_number(text: str) -> bool:
    try:
        float(text.replace("_", ""))
    except ValueError:
        return False
    return text.strip().lower() not in {"nan", "inf", "-inf", "+inf", "infinity"}


def _dotted(text: str) -> str:
    """`1e-4` -> `1.0e-4` (a float to every YAML reader); other numbers as written."""
    if "e" not in text.lower():
        return text
    try:
        return LooseFloat(text).portable()
    except ValueError:
        return text
