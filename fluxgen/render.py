"""The one jinja2 environment, the scalar filters, the file header, and checked atomic writes.

Templates only lay out keys and comments; every value goes through a filter that emits it in a form both the
trainer's parser and the re-parse check read back identically (floats always with a dot, strings JSON-escaped).
"""

from __future__ import annotations

import json
import math
import re
import shlex
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.errors import RenderMismatch, UserError
from fluxgen.paths import TEMPLATES_DIR

if TYPE_CHECKING:
    from fluxgen.plan import Plan

# Characters YAML refuses in a document, or treats as line breaks / byte-order marks even inside quotes.
_YAML_UNSAFE_RE = re.compile("[\x80-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def fmt_float(value: float) -> str:
    """A float that YAML 1.1 (PyYAML) and TOML both read as a float: `1.0e-04`-style, never `1e-4`."""
    v = float(value)
    if not math.isfinite(v):
        raise UserError(f"{value}: not a finite number")
    text = repr(v)
    if "e" in text:
        mantissa, exp = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").rjust(2, "0")
        return f"{mantissa}e{sign}{digits}"
    return text if "." in text else text + ".0"


def _escape_string(value: str, unsafe: re.Pattern[str] | None) -> str:
    """A double-quoted JSON string (valid YAML and TOML), with DEL and the reader-unsafe characters escaped."""
    text = json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if unsafe is not None:
        text = unsafe.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def _bool_or_number(value: Any) -> str | None:
    """Booleans and numbers are written the same way in YAML and TOML; anything else is None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return fmt_float(value)
    return None


def yaml_value(value: Any) -> str:
    """One YAML flow scalar or flow sequence/mapping."""
    if value is None:
        return "null"
    if (plain := _bool_or_number(value)) is not None:
        return plain
    if isinstance(value, str):
        return _escape_string(value, _YAML_UNSAFE_RE)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_value(str(k))}: {yaml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot render {type(value).__name__} into YAML")


def toml_value(value: Any) -> str:
    """One TOML value that tomllib and the `toml` 0.10.2 package (what sd-scripts uses) read identically."""
    if value is None:
        raise TypeError("TOML has no null; leave the key out instead")
    if (plain := _bool_or_number(value)) is not None:
        return plain
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_item(v) for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} into TOML")


def _toml_item(value: Any) -> str:
    return _toml_string(value, in_array=True) if isinstance(value, str) else toml_value(value)


def _toml_string(value: str, *, in_array: bool = False) -> str:
    """A TOML string that tomllib and sd-scripts' reader (`toml` 0.10.2) both read back as `value`.

    tomli-w, the maintained TOML writer, does the escaping. `toml` 0.10.2 misreads some valid strings (ones that
    start with escaped quotes, raw commas inside arrays, some escape mixes), so each candidate form is read back with
    both readers and the first that round-trips is used; a value no form can carry is refused."""
    import tomli_w

    basic = tomli_w.dumps({"v": value})[len("v = "):].rstrip("\n")
    candidates = [basic.replace(",", "\\u002c") if in_array else basic]
    if "'" not in value and not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        candidates.append(f"'{value}'")
    for candidate in candidates:
        if _reads_back(candidate, value, in_array):
            return candidate
    raise UserError(f"{value!r}: sd-scripts' TOML reader (toml 0.10.2) cannot read this text back exactly; rephrase it")


def _reads_back(candidate: str, value: str, in_array: bool) -> bool:
    import tomllib

    import toml

    doc = f"v = [{candidate}, 'x']\n" if in_array else f"v = {candidate}\n"
    want = [value, "x"] if in_array else value
    try:
        return tomllib.loads(doc)["v"] == want and toml.loads(doc)["v"] == want
    except (tomllib.TOMLDecodeError, toml.TomlDecodeError, IndexError, ValueError):
        return False


def text_line(value: Any) -> str:
    """A value on one line of a plain-text file: numbers as numbers (floats with a dot), text without line breaks."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{value!r} has no plain-text form here")
    if isinstance(value, float):
        return fmt_float(value)
    text = str(value)
    if any(ord(c) < 32 or c in "\u2028\u2029\x85" for c in text):
        raise UserError(f"{text!r}: a line break or control character cannot go on one line; remove it")
    return text


def shell_join(argv: list[str]) -> str:
    return shlex.join(argv)


@lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(y=yaml_value, t=toml_value, f=fmt_float, line=text_line, sh=shell_join,
                       json=lambda v: json.dumps(v))
    return env


def render_template(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def header_lines(plan: Plan, regenerate: str) -> list[str]:
    """Comment lines every rendered file starts with: enough to re-plan it on another machine."""
    from fluxgen.header import Header

    return Header.of(plan, regenerate).lines()


def write_files(files: dict[str, str], out_dir: Path, *, force: bool = False) -> list[Path]:
    """Write the set all or nothing, one command at a time per folder; refuse to replace any existing file
    without force."""
    from fluxgen.fsio import write_set
    from fluxgen.locks import hold

    out_dir = Path(out_dir)
    with hold(out_dir / ".fluxgen-lock", str(out_dir)):
        return write_set(files, out_dir, force=force)


def compare(expected: dict[str, Any], actual: dict[str, Any], source: str) -> None:
    """Re-parse check: every expected key must read back with the same value and type."""
    problems = []
    for key, want in expected.items():
        got = actual.get(key, "<missing>")
        if got != want or type(got) is not type(want):
            problems.append(f"{key}: rendered {got!r}, plan says {want!r}")
    if problems:
        raise RenderMismatch(f"{source} does not read back as planned: " + "; ".join(problems[:5]))


def render_plan(plan: Plan) -> dict[str, str]:
    """The backend's files for a plan, already re-parsed and compared with it."""
    from fluxgen.backends import get_backend

    backend = get_backend(plan.backend)
    files = backend.render(plan)
    if backend.rendered_kinds:
        from fluxgen.validate import check_rendered

        accept = backend.accepted_findings(plan)
        for name, kind in backend.rendered_kinds.items():
            check_rendered(files[name], kind, name, accept)
    return files


def check_dataset_errors(plan: Plan, force: bool) -> None:
    """A dataset the lint found errors in is not rendered or trained (a dry run included) without --force."""
    errors = [f for f in (plan.dataset_lint or {}).get("findings", []) if f.get("severity") == "error"]
    if errors and not force:
        first = errors[0]
        raise UserError(f"{first.get('path')}: {first.get('message')} — {len(errors)} dataset error(s); fix them "
                        "(see `fluxgen dataset lint`) or pass --force")


def render_plan_to(plan: Any, out_dir: Path, *, force: bool = False) -> list[Path]:
    """Render, refuse a dataset with lint errors unless forced, then write the files and plan.json atomically."""
    from fluxgen.rules.datasets import refuse_inside_any

    if plan.values.get("dataset"):
        refuse_inside_any(plan.values, out_dir, "--out")
    check_dataset_errors(plan, force)
    files = render_plan(plan)
    files["plan.json"] = json.dumps(plan.to_dict(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return write_files(files, out_dir, force=force)
