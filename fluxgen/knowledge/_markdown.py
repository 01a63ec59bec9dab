"""Small readers for the reference markdown: sections, pipe tables and backticked names (build time only)."""

from __future__ import annotations

import ast
import re
from typing import Any

_PIPE = "\x00"


def section(text: str, heading: str) -> str:
    """The text under the first heading that starts with `heading`, up to the next heading of the same level."""
    lines = text.splitlines()
    level = len(heading) - len(heading.lstrip("#"))
    for i, line in enumerate(lines):
        if line.startswith(heading):
            out = []
            for nxt in lines[i + 1 :]:
                hashes = len(nxt) - len(nxt.lstrip("#"))
                if 0 < hashes <= level and nxt[hashes : hashes + 1] == " ":
                    break
                out.append(nxt)
            return "\n".join(out)
    raise ValueError(f"heading not found in reference: {heading!r}")


def table_rows(text: str, header_starts: str) -> list[list[str]]:
    """Data rows of the first pipe table whose header row starts with `header_starts`."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(header_starts):
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append(split_row(row))
            return rows
    raise ValueError(f"table not found in reference: {header_starts!r}")


def all_tables(text: str) -> list[list[list[str]]]:
    """Every pipe table in `text`, as lists of data rows (header and rule lines dropped)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in text.splitlines():
        if line.startswith("|"):
            if current is None:
                current = []
                tables.append(current)
            elif not re.match(r"^\|[-| :]+\|$", line.strip()):
                current.append(split_row(line))
        else:
            current = None
    return tables


def split_row(line: str) -> list[str]:
    cells = line.strip().replace("\\|", _PIPE).strip("|").split("|")
    return [c.replace(_PIPE, "|").strip() for c in cells]


def ticks(cell: str) -> list[str]:
    """Every `backticked` span in a cell."""
    return re.findall(r"`([^`]*)`", cell)


def literal(text: str) -> Any:
    """A Python literal as written in the reference (`None`, `False`, `'x'`, `1e-4`, `[1, 2]`); else the text."""
    text = text.strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
