"""What both trainers' consoles share: Python tracebacks, error wording, tqdm training bars, phase changes.

A backend parser subclasses `ConsoleParser` and implements `handle(lineno, text)` for its own lines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable

from fluxgen.events import Event
from fluxgen.monitor.diagnoses import code_of
from fluxgen.monitor.text import LineSplitter
from fluxgen.monitor.tqdm import Bar

# Lines that name a failure even outside a traceback's last line (e.g. the body of a multi-line HTTP error).
_SIGNATURE_RE = re.compile(
    r"CUDA out of memory|OutOfMemoryError|Cannot access gated repo|Access to model \S+ is restricted"
    r"|GatedRepoError|\b40[13] Client Error|No space left on device|Disk quota exceeded|StorageFull",
    re.I,
)
_SIGNATURE_WORDS = ("memory", "Memory", "gated", "Gated", "restricted", "Client Error", "space left", "quota",
                    "StorageFull")
TRACEBACK_START = "Traceback (most recent call last)"


def any_of(patterns: Iterable[re.Pattern[str]]) -> re.Pattern[str]:
    """One regex that matches where any of `patterns` would: one pass for lines that match none."""
    return re.compile("|".join(f"(?{'i' if p.flags & re.I else ''}:{p.pattern})" for p in patterns))


def classify(message: str, backend: str | None = None) -> str | None:
    """The diagnosis code a trainer's error message points to, or None for an unrecognised crash: the first row
    of the diagnosis tables (the trainer's, then the shared ones) whose pattern matches."""
    return code_of(message, backend)


class ConsoleParser:
    """Incremental console parser: `feed(chunk)` as output arrives, `close()` at the end of the stream."""

    TRAIN_LOSS_SAME_STEP = False  # True when a postfix change without a step change is this step's own loss
    BACKEND: str | None = None  # whose diagnosis rows (besides the shared ones) name the errors it reads

    def __init__(self) -> None:
        self._splitter = LineSplitter()
        self._out: list[Event] = []
        self.phase: str | None = None
        self._phase_step: int | None = None
        self.step: int | None = None  # last training step seen
        self.total: int | None = None
        self._bar_n: int | None = None
        self._bar_loss: float | None = None
        self._in_traceback = False
        self._codes_seen: set[str] = set()

    # -- public ------------------------------------------------------------------------------------------
    def feed(self, chunk: str) -> list[Event]:
        for lineno, text in self._splitter.feed(chunk):
            self._line(lineno, text)
        return self._take()

    def close(self) -> list[Event]:
        for lineno, text in self._splitter.close():
            self._line(lineno, text)
        self.flush()
        return self._take()

    def parse(self, lines: Iterable[str]) -> list[Event]:
        """Every event of a whole stream given as lines (with or without their line endings)."""
        events: list[Event] = []
        for line in lines:
            events += self.feed(line if line.endswith(("\n", "\r")) else line + "\n")
        return events + self.close()

    # -- for subclasses ----------------------------------------------------------------------------------
    def handle(self, lineno: int, text: str) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Give out anything held back waiting for more lines (e.g. a wrapped log record)."""

    def emit(self, type_: str, lineno: int, **fields) -> Event:
        event = Event(type_, line=lineno, **fields)
        self._out.append(event)
        return event

    def set_phase(self, phase: str, lineno: int, step: int | None = None) -> None:
        if phase == self.phase and (step is None or step == self._phase_step):
            return
        self.phase, self._phase_step = phase, step
        self.emit("phase", lineno, phase=phase, step=step, total=self.total)

    def error(self, lineno: int, message: str, code: str | None = None) -> None:
        code = code or classify(message, self.BACKEND) or "crash"
        self._codes_seen.add(code)
        self.emit("error", lineno, message=message, code=code, step=self.step, phase=self.phase)

    def warning(self, lineno: int, message: str, code: str | None = None) -> None:
        self.emit("warning", lineno, message=message, code=code, step=self.step)

    def scan(self, lineno: int, text: str) -> None:
        """Report a failure named on a line that is not a traceback's last line, once per kind."""
        if any(word in text for word in _SIGNATURE_WORDS) and _SIGNATURE_RE.search(text):
            code = classify(text, self.BACKEND)
            if code and code not in self._codes_seen:
                self.error(lineno, text.strip(), code)

    def training_bar(self, lineno: int, bar: Bar) -> None:
        """One redraw of the main training bar: a progress event when a step is done (or its loss arrives)."""
        self.total = bar.total
        loss = bar.loss
        first = self._bar_n is None or bar.n < self._bar_n
        if first:
            self.set_phase("training", lineno)
            self.step = bar.n if bar.n else self.step
        elif bar.n > self._bar_n or (self.TRAIN_LOSS_SAME_STEP and not _same(loss, self._bar_loss)):
            self.set_phase("training", lineno)
            self.step = bar.n
            self.emit(
                "progress",
                lineno,
                step=bar.n,
                total=bar.total,
                loss=loss,
                lr=bar.lr,
                seconds_per_it=bar.seconds_per_it,
            )
            if loss is not None and not math.isfinite(loss) and "nan_loss" not in self._codes_seen:
                self.error(lineno, f"loss is {loss} at step {bar.n}", "nan_loss")
        self._bar_n, self._bar_loss = bar.n, loss

    # -- internals ---------------------------------------------------------------------------------------
    def _line(self, lineno: int, text: str) -> None:
        if self._in_traceback:
            if text[:1].isspace() or text.startswith(TRACEBACK_START):
                return
            self._in_traceback = False
            self._exception(lineno, text.strip())
            return
        if text.startswith(TRACEBACK_START):
            self.flush()
            self._in_traceback = True
            return
        self.handle(lineno, text)

    def _exception(self, lineno: int, text: str) -> None:
        if text.startswith("KeyboardInterrupt"):
            self.warning(lineno, "stopped by KeyboardInterrupt (Ctrl-C)", "interrupted")
        else:
            self.error(lineno, text)

    def _take(self) -> list[Event]:
        out, self._out = self._out, []
        return out


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


class LineParser:
    """The incremental form of a line-based `parse(lines)`: each new line is parsed with the lines since the
    last step, so what spans lines (a traceback's last line, the step of the final save) reads as in one pass."""

    ANCHORS = ("progress", "resume")

    def __init__(self, parse: Callable[[list[str]], list[Event]]) -> None:
        self.parse = parse
        self._buf = ""
        self._window: list[str] = []
        self._offset = 0

    def feed(self, chunk: str) -> list[Event]:
        self._buf += chunk
        *lines, self._buf = self._buf.split("\n")
        return [e for line in lines for e in self._line(line)]

    def close(self) -> list[Event]:
        rest, self._buf = self._buf, ""
        return self._line(rest) if rest.strip() else []

    def _line(self, line: str) -> list[Event]:
        self._window.append(line)
        n = len(self._window)
        new = [e for e in self.parse(self._window) if e.line == n]
        for e in new:
            e.line = self._offset + n
        if any(e.type in self.ANCHORS for e in new):
            self._offset, self._window = self._offset + n - 1, [line]
        return new
