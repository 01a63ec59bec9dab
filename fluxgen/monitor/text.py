"""A trainer's raw console stream as clean logical lines.

tqdm redraws its bar with carriage returns and nested bars move the cursor up with escapes, so a "line" of the
captured text can hold dozens of states, and other output can start right after a bar's closing bracket.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# CSI sequences (colours, cursor moves such as ESC[A), OSC titles/links, and two-byte escapes.
ANSI_RE = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_SEP_RE = re.compile(r"([\r\n])")
# A tqdm bar from its start to the end of its `[elapsed<remaining, rate, postfix]` block.
BAR_PREFIX_RE = re.compile(r"(?:[^|]*?: )?\s*\d{1,3}%\|[^|]*\|\s*\d+/\d+\s*\[[^\]]*\]")

Line = tuple[int, str]  # (1-based physical line number, text)


def strip_ansi(text: str) -> str:
    return ANSI_RE.sub("", text) if "\x1b" in text else text


def split_glued(text: str) -> list[str]:
    """Split a tqdm bar from text written right after it, with no newline (`…avr_loss=1.48]2026-… INFO`)."""
    if "%|" not in text:
        return [text]
    m = BAR_PREFIX_RE.match(text)
    if m is None or m.end() == len(text):
        return [text]
    return [text[: m.end()], text[m.end() :]]


def _is_complete_bar(text: str) -> bool:
    return "%|" in text and BAR_PREFIX_RE.fullmatch(text) is not None


class LineSplitter:
    """Incremental splitter: chunks of any size in, logical lines out, with their physical line numbers.

    A pending segment that is already a complete tqdm bar is given out at once, so a live view does not lag
    one redraw behind; whatever follows it on the same segment is given out when the segment ends.
    """

    def __init__(self) -> None:
        self._buf = ""
        self._done = 0  # characters of _buf already given out as a complete bar
        self._line = 1

    def feed(self, chunk: str) -> list[Line]:
        out: list[Line] = []
        if not chunk:
            return out
        parts = _SEP_RE.split(self._buf + chunk)
        # parts alternates text, separator, text, …; the last text has no separator yet.
        for i in range(0, len(parts) - 1, 2):
            self._segment(parts[i], out)
            if parts[i + 1] == "\n":
                self._line += 1
        self._buf = parts[-1]
        if self._buf and not self._done:
            clean = strip_ansi(self._buf).rstrip()
            if clean.endswith("]") and _is_complete_bar(clean):
                out.append((self._line, clean))
                self._done = len(self._buf)
        return out

    def close(self) -> list[Line]:
        out: list[Line] = []
        if self._buf:
            self._segment(self._buf, out)
        self._buf = ""
        return out

    def _segment(self, raw: str, out: list[Line]) -> None:
        if self._done:
            raw = raw[self._done :]
            self._done = 0
        text = strip_ansi(raw).rstrip()
        if not text.strip():
            return
        for part in split_glued(text):
            part = part.rstrip()
            if part.strip():
                out.append((self._line, part))


def iter_lines(text: str) -> Iterator[Line]:
    """All logical lines of a whole text (same as feeding it to a LineSplitter in one go)."""
    splitter = LineSplitter()
    yield from splitter.feed(text)
    yield from splitter.close()
