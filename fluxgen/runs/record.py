"""The run's live record: `train.log` (both streams, as the trainer wrote them), `events.jsonl`, `metrics.csv`.

Everything is appended and flushed as it arrives, so `fluxgen status` and a report read a run that is still going.
A resumed run appends to the same files; `train.log` gets a marker line at the start of each attempt.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from fluxgen.events import Event

LOG_NAME, EVENTS_NAME, METRICS_NAME = "train.log", "events.jsonl", "metrics.csv"
METRICS_HEADER = ("step", "loss", "lr", "seconds_per_it", "time")
ATTEMPT_MARKER = "==== fluxgen attempt {n}: {what} ({when}) ===="
_SEGMENT_RE = re.compile(r"[^\r\n]*[\r\n]")


def finite(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as null (the error event that goes with them says what it was)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class AppendFile:
    """A file that grows by whole records only: each write is one unbuffered append, and one that fails (a full
    disk) is cut back off, so the file never ends mid-record; after a failure the file takes no more writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        self.error: OSError | None = None

    def write(self, text: str) -> int:
        if self.error is not None or not text:
            return 0
        data = text.encode("utf-8")
        start = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            done = 0
            while done < len(data):
                done += os.write(self._fd, data[done:])
        except OSError as exc:
            self.error = exc
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                pass
        return len(text)

    def tell(self) -> int:
        return os.lseek(self._fd, 0, os.SEEK_END)

    def flush(self) -> None:
        """Every write is already in the file."""

    def close(self) -> None:
        os.close(self._fd)


class Recorder:
    """Appends one attempt's output to the run folder; `close()` flushes what is still held back."""

    def __init__(self, run_dir: Path, attempt: int, *, what: str, redact: Callable[[str], str],
                 started: float | None = None) -> None:
        self.run_dir, self.attempt, self.redact = Path(run_dir), attempt, redact
        self.t0 = started if started is not None else time.time()  # the run's first start: metrics' time origin
        self._log: TextIO = AppendFile(self.run_dir / LOG_NAME)  # type: ignore[assignment]
        self._events: TextIO = AppendFile(self.run_dir / EVENTS_NAME)  # type: ignore[assignment]
        metrics_path = self.run_dir / METRICS_NAME
        new_metrics = not metrics_path.exists() or metrics_path.stat().st_size == 0
        self._metrics_fh: TextIO = AppendFile(metrics_path)  # type: ignore[assignment]
        self._metrics = csv.writer(self._metrics_fh)
        if new_metrics:
            self._metrics.writerow(METRICS_HEADER)
        self._pending: dict[str, str] = {}
        self._metric: list[Any] | None = None  # the current step's row, held until the step changes
        when = time.strftime("%Y-%m-%d %H:%M:%S")
        if self._log.tell() > 0:
            self._log.write("\n")
        self._log.write(ATTEMPT_MARKER.format(n=attempt, what=what, when=when) + "\n")
        self._log.flush()

    def output(self, stream: str, text: str) -> None:
        """Tee trainer output to train.log, whole segments at a time so the two streams never split a line."""
        buf = self._pending.get(stream, "") + text
        end = 0
        for m in _SEGMENT_RE.finditer(buf):
            end = m.end()
        if end:
            self._log.write(self.redact(buf[:end]))
            self._log.flush()
        self._pending[stream] = buf[end:]

    def event(self, event: Event, stream: str | None = None) -> None:
        data = {k: finite(v) for k, v in event.to_dict().items()}
        if event.message:
            data["message"] = self.redact(event.message)
        if event.path:
            data["path"] = self.redact(event.path)
        data.update(attempt=self.attempt, t=round(time.time() - self.t0, 3))
        if stream:
            data["stream"] = stream
        self._events.write(json.dumps(data, ensure_ascii=False, allow_nan=False) + "\n")
        self._events.flush()
        if event.type == "progress" and event.step is not None:
            self._metric_row([event.step, _num(event.loss), _num(event.lr), _num(event.seconds_per_it),
                              f"{time.time() - self.t0:.3f}"])

    def _metric_row(self, row: list[Any]) -> None:
        """One row per step: a second report of the same step (its loss arriving) replaces the first."""
        if self._metric is not None and self._metric[0] != row[0]:
            self._metrics.writerow(self._metric)
            self._metrics_fh.flush()
        if self._metric is not None and self._metric[0] == row[0]:
            row = [new if new != "" else old for new, old in zip(row, self._metric, strict=True)]
        self._metric = row

    def note(self, text: str) -> None:
        """A line of fluxgen's own in train.log (e.g. why it stopped the trainer)."""
        self._flush_pending()
        self._log.write(f"\n==== fluxgen: {self.redact(text)} ====\n")
        self._log.flush()

    def _flush_pending(self) -> None:
        for stream, rest in list(self._pending.items()):
            if rest:
                self._log.write(self.redact(rest) + "\n")
            self._pending[stream] = ""

    @property
    def write_error(self) -> str | None:
        """Why a record file stopped growing (the disk filled up), naming the first such file."""
        for fh in (self._log, self._events, self._metrics_fh):
            error = getattr(fh, "error", None)
            if error is not None:
                return f"{fh.path.name} stopped being written ({error.strerror or error})"  # type: ignore[attr-defined]
        return None

    def close(self) -> None:
        self._flush_pending()
        if self._metric is not None:
            self._metrics.writerow(self._metric)
            self._metric = None
        for fh in (self._log, self._events, self._metrics_fh):
            fh.close()


def _num(value: float | None) -> str:
    """A CSV cell; empty for a missing or non-finite value (readers plot numbers, the events say what it was)."""
    if value is None or not math.isfinite(value):
        return ""
    return repr(float(value))


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    """events.jsonl as dicts; a partial last line (a run killed mid-write) is skipped."""
    path = Path(run_dir) / EVENTS_NAME
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and row.get("type"):
            out.append(row)
    return out


def to_event(row: dict[str, Any]) -> Event:
    """An events.jsonl row back into an Event (fluxgen's extra keys dropped)."""
    from dataclasses import fields

    names = {f.name for f in fields(Event)}
    return Event(**{k: v for k, v in row.items() if k in names})
