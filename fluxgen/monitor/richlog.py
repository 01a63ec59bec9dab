"""Reassemble records written by rich's RichHandler, which wraps long messages over several lines.

Layout: `YYYY-mm-dd HH:MM:SS` (blank when the second repeats), a space, the level padded to 8, a space, the
message column, a space, `file.py:LINE` right-aligned. Continuation lines are indented by 29 spaces. The
terminal width ($COLUMNS, 80 when not a TTY) only changes where lines break, so records are joined back.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})
MESSAGE_COLUMN = 29
_INDENT = " " * MESSAGE_COLUMN
_TIME_RE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
_PATH_RE = re.compile(r"[\w.\-]+:\d+")


@dataclass
class Record:
    lineno: int
    level: str
    message: str
    width: int | None  # cells of the message column, known from where the path column starts
    last: str  # the message part of the record's last physical line


def cell_len(text: str) -> int:
    """Terminal cells: East Asian wide characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _wide(char: str) -> bool:
    return not char.isascii() and unicodedata.east_asian_width(char) in "WF"


def start_record(lineno: int, text: str) -> Record | None:
    """The record a line begins, if it is the first line of a rich log record."""
    if len(text) < MESSAGE_COLUMN - 1 or text[19] != " " or text[20:28].rstrip() not in LEVELS:
        return None
    head = text[:19]
    if not (head.isspace() or _TIME_RE.fullmatch(head)) or text[28:29] not in (" ", ""):
        return None
    rest = text[MESSAGE_COLUMN:].rstrip()
    start = rest.rfind(" ") + 1  # the `file.py:LINE` column is the last word
    width = None
    if _PATH_RE.fullmatch(rest, start):
        width = cell_len(rest[:start]) - 1
        rest = rest[:start]
    message = rest.rstrip()
    return Record(lineno, text[20:28].rstrip(), message, width, message)


def is_continuation(text: str) -> bool:
    return text.startswith(_INDENT)


def extend(record: Record, text: str) -> None:
    """Add one continuation line: a wrapped line joins with a space, a folded word with nothing, an indented
    line starts a new line of a multi-line message."""
    segment = text[MESSAGE_COLUMN:].rstrip()
    if not segment.strip():
        return
    if not record.message:
        record.message = segment.lstrip()
    elif segment[0] == " ":
        record.message += "\n" + segment
    elif _folded(record.last, segment, record.width):
        record.message += segment
    else:
        record.message += " " + segment
    record.last = segment


def _folded(prev: str, segment: str, width: int | None) -> bool:
    """True when rich cut a single long word (a path, a CJK run) across the line break."""
    if not prev or prev[-1].isspace():
        return False
    if width and " " not in prev.strip():
        used = cell_len(prev)
        if used >= width or (used == width - 1 and _wide(segment[0])):
            return True
    last_token = prev.rsplit(" ", 1)[-1]
    return len(last_token) > 1 and ("/" in last_token or "\\" in last_token) and " " not in segment
