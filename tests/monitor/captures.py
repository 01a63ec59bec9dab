"""The real console captures in ../shared/logs, and helpers to read and vary them."""

from __future__ import annotations

import dataclasses
import datetime
import io
import logging
import os
import re
from pathlib import Path

import pytest

# The captures live beside the clone (`../shared/logs`); FLUXGEN_SHARED_LOGS points elsewhere (or nowhere, to see
# how the suite behaves without them). They are never copied into the repository.
LOGS = Path(os.environ.get("FLUXGEN_SHARED_LOGS") or Path(__file__).parents[2].parent / "shared" / "logs")
CAPTURES_MISSING = f"needs the real console captures, which are not at {LOGS} (../shared/logs beside the clone)"
# The one skip every test that reads the captures (directly or through a trainer double) goes through.
needs_captures = pytest.mark.skipif(not LOGS.is_dir(), reason=CAPTURES_MISSING)


def require_captures() -> Path:
    """Skip the calling test (or fixture) with the shared reason when the captures are not there."""
    if not LOGS.is_dir():
        pytest.skip(CAPTURES_MISSING)
    return LOGS
AI_TOOLKIT_FILES = [
    "fresh-run.stdout",
    "fresh-run.stderr",
    "resume.stdout",
    "resume.stderr",
    "missing-dataset.stdout",
    "missing-dataset.stderr",
]
SD_SCRIPTS_FILES = [
    "success-cols200.log",
    "console-log-simple.stdout",
    "console-log-simple.stderr",
    "bad-dataset-key.log",
]
ALL_CAPTURES = [("ai-toolkit", name) for name in AI_TOOLKIT_FILES] + [
    ("sd-scripts", n) for n in SD_SCRIPTS_FILES
]


def read_capture(backend: str, name: str) -> str:
    """A capture's text with its carriage returns kept."""
    with open(LOGS / backend / name, encoding="utf-8", newline="") as f:
        return f.read()


def parse_whole(backend: str, text: str):
    from fluxgen.monitor import new_parser

    parser = new_parser(backend)
    return parser.feed(text) + parser.close()


def without_lines(events):
    """Events compared across re-wrapped texts, where line numbers differ."""
    return [dataclasses.replace(e, line=None) for e in events]


def by_type(events, type_: str):
    return [e for e in events if e.type == type_]


def last_loss_by_step(events) -> dict[int, float]:
    """A later progress event for the same step carries that step's own loss."""
    return {e.step: e.loss for e in events if e.type == "progress" and e.loss is not None}


# -- re-wrapping sd-scripts' rich log records at another terminal width -----------------------------------
_FIRST = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d| {19}) (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
_PATH = re.compile(r"\s+([\w.\-]+):(\d+)\s*$")


def _records(text: str) -> list[tuple]:
    """The capture as raw lines and rich records (prefix, time, level, message, file, line) at 200 columns."""
    lines, out, clock, i = text.split("\n"), [], None, 0
    while i < len(lines):
        m = _FIRST.search(lines[i])
        if not m or (m.start() and lines[i][m.start() - 1] != "]"):  # a record starts a line or follows a bar
            out.append(("raw", lines[i]))
            i += 1
            continue
        prefix, body = lines[i][: m.start()], lines[i][m.start() + 29 :]
        path = _PATH.search(body)
        parts, clock = [body[: path.start()].rstrip()], m[1].strip() or clock
        i += 1
        while i < len(lines) and lines[i].startswith(" " * 29) and not _FIRST.match(lines[i]):
            parts.append(lines[i][29:].rstrip())
            i += 1
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        out.append(("record", prefix, clock, m[2], "\n".join(parts), path[1], int(path[2])))
    return out


def rewrap(text: str, width: int) -> str:
    """The same capture with every rich record rendered again by rich's own RichHandler at `width` columns."""
    from rich.console import Console
    from rich.logging import RichHandler

    buf = io.StringIO()
    handler = RichHandler(console=Console(file=buf, width=width, color_system=None, force_terminal=False))
    handler.setFormatter(logging.Formatter("%(message)s", datefmt="%Y-%m-%d %H:%M:%S"))
    out = []
    for item in _records(text):
        if item[0] == "raw":
            out.append(item[1] + "\n")
            continue
        _, prefix, clock, level, message, name, lineno = item
        record = logging.LogRecord(
            "sd", getattr(logging, level), "/opt/sd-scripts/" + name, lineno, message, None, None
        )
        record.created = datetime.datetime.strptime(clock, "%Y-%m-%d %H:%M:%S").timestamp()
        buf.seek(0)
        buf.truncate()
        handler.emit(record)
        out.append(prefix + buf.getvalue())
    return "".join(out)[:-1]
