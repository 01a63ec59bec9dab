"""What every intent value must be, whatever its key: a number is a number (YAML's `true` is not 1), finite and
within int64; text is whole characters; a path is one line. The schema's base class applies it to every field."""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

INT64_MAX = 2**63 - 1  # what TOML (and so sd-scripts' files) and most trainers' integers hold


class _Strict(BaseModel):
    """Unknown keys are errors; a number is a number (YAML's `true`/`yes` is not 1), finite and within int64."""

    model_config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, v: Any, info: ValidationInfo) -> Any:
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return v  # a section: its own fields check their values, under their own dotted names
        for text in _strings_in(v):
            if _SURROGATE.search(text):
                bad = _SURROGATE.search(text).group()
                raise ValueError(f"contains a lone surrogate (\\u{ord(bad):04x}), half of a character such as an "
                                 "emoji; write the character itself")
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT64_MAX:
            raise ValueError(f"{v} is larger than a trainer can hold (at most {INT64_MAX})")
        if isinstance(v, bool) and not _takes_bool(annotation):
            raise ValueError(f"must be a number or text, not the boolean {str(v).lower()}; "
                             "write the value itself (YAML reads yes/no/on/off as booleans)")
        if isinstance(v, list) and any(isinstance(item, bool) for item in v):
            raise ValueError("items must be numbers or text, not booleans")
        if isinstance(v, dict):
            for key, item in v.items():
                if isinstance(item, float) and not math.isfinite(item):
                    raise ValueError(f"{key}: {item} is not a finite number")
                if isinstance(item, int) and not isinstance(item, bool) and abs(item) > INT64_MAX:
                    raise ValueError(f"{key}: {item} is larger than a trainer can hold")
        return v


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _strings_in(value: Any) -> list[str]:
    """The strings of a value: itself, a list's items, a mapping's keys and values (one level)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, dict):
        return [x for kv in value.items() for x in kv if isinstance(x, str)]
    return []


def _one_line_path(v: str | None) -> str | None:
    if v is not None and _has_control(v):
        raise ValueError("a path cannot hold control characters (NUL, newline, tab, …); remove them")
    return v


def _takes_bool(annotation: Any) -> bool:
    """Whether a field's type accepts a boolean (bool, bool | None, or a free-form Any/dict)."""
    import typing

    if annotation is bool or annotation is Any:
        return True
    return any(_takes_bool(arg) for arg in typing.get_args(annotation)) or typing.get_origin(annotation) is dict


def _has_control(text: str) -> bool:
    """Control characters (C0, DEL, C1) and line/paragraph separators: nothing a one-line value may hold."""
    return any(ord(c) < 32 or 127 <= ord(c) < 160 or c in "\u2028\u2029" for c in text)


