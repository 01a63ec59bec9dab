"""Follow a run live: the state behind the progress view and the run record, and "is it stuck / slow?".

The speed baseline is the run's own (median s/it of the first steps after warm-up), so a slowdown is judged
against what this GPU and these settings did earlier, not against a table. rich is imported only by LiveView.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from fluxgen.events import Event

ACTIVITY = ("progress", "checkpoint", "sample", "phase", "resume")


class Follower:
    """Keeps what the trainer said so far: step, smoothed loss, lr, s/it, ETA, phase, last checkpoint."""

    def __init__(
        self,
        total: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        stall_after: float = 600.0,
        slowdown_factor: float = 3.0,
        *,
        warmup_steps: int = 2,
        baseline_steps: int = 10,
        window: int = 5,
        ema_beta: float = 0.9,
    ) -> None:
        self.total, self.clock = total, clock
        self.stall_after, self.slowdown_factor = stall_after, slowdown_factor
        self.warmup_steps, self.baseline_steps, self.ema_beta = warmup_steps, baseline_steps, ema_beta
        self.phase: str | None = None
        self.step: int | None = None
        self.loss: float | None = None
        self.lr: float | None = None
        self.last_checkpoint: dict[str, Any] | None = None
        self.resumed_from: int | None = None
        self.baseline: float | None = None
        self.warnings: list[Event] = []
        self.errors: list[Event] = []
        self._readings: deque[float] = deque(maxlen=window)
        self._early: list[float] = []
        self._ema = (0.0, 0)  # (biased sum, count) before the current step's loss
        self._ema_now = (0.0, 0)
        self._last_step_time: float | None = None
        # A save or sample happened since the last step: that interval is not a step's time.
        self._paused = False
        self._last_activity = clock()
        self.training_started = False
        self._stalled = self._slow = False

    # -- input -------------------------------------------------------------------------------------------
    def update(self, events: Event | Iterable[Event], now: float | None = None) -> None:
        """Take the events a parser just gave out (one or several)."""
        now = self.clock() if now is None else now
        for event in [events] if isinstance(events, Event) else events:
            self._take(event, now)

    def _take(self, e: Event, now: float) -> None:
        if e.type in ACTIVITY:
            self._last_activity, self._stalled = now, False
        if e.total is not None:
            self.total = e.total
        if e.type == "phase":
            self.phase = e.phase
            self.training_started = self.training_started or e.phase == "training"
            self._paused = self._paused or e.phase in ("saving", "sampling")
        elif e.type == "progress":
            self._progress(e, now)
        elif e.type == "checkpoint":
            self.last_checkpoint = {"step": e.step, "path": e.path}
        elif e.type == "resume":
            self.resumed_from = e.step
        elif e.type == "error":
            self.errors.append(e)
        elif e.type == "warning":
            self.warnings.append(e)

    def _progress(self, e: Event, now: float) -> None:
        self.training_started, self.phase = True, "training"
        if e.lr is not None:
            self.lr = e.lr
        same_step = e.step is not None and e.step == self.step
        if e.loss is not None and math.isfinite(e.loss):
            self._add_loss(e.loss, replace=same_step)
        if e.loss is not None:
            self.loss = e.loss
        if e.step is None or same_step or (self.step is not None and e.step < self.step):
            self.step = e.step if e.step is not None else self.step
            return
        reading = None
        if self._last_step_time is not None and not self._paused and self.step is not None:
            elapsed = now - self._last_step_time
            reading = elapsed / (e.step - self.step) if elapsed > 0 else None
        if reading is None and not (self._paused and self._last_step_time is not None):
            reading = e.seconds_per_it  # the trainer's own rate: after a save or sample it counts that pause too
        if reading is not None:
            self._reading(reading)
        self.step, self._last_step_time, self._paused = e.step, now, False

    def _add_loss(self, loss: float, replace: bool) -> None:
        biased, count = self._ema if replace else self._ema_now
        self._ema = (biased, count)
        self._ema_now = (self.ema_beta * biased + (1 - self.ema_beta) * loss, count + 1)

    def _reading(self, seconds: float) -> None:
        self._readings.append(seconds)
        if self.baseline is None:
            self._early.append(seconds)
            usable = self._early[self.warmup_steps :]
            if len(usable) >= self.baseline_steps:
                self.baseline = statistics.median(usable)

    # -- state -------------------------------------------------------------------------------------------
    @property
    def loss_ema(self) -> float | None:
        biased, count = self._ema_now
        return biased / (1 - self.ema_beta**count) if count else None

    @property
    def seconds_per_it(self) -> float | None:
        return statistics.median(self._readings) if self._readings else None

    @property
    def eta(self) -> float | None:
        """Seconds left at the current speed, or None while step, total or speed is unknown."""
        speed = self.seconds_per_it
        if speed is None or self.total is None or self.step is None:
            return None
        return max(self.total - self.step, 0) * speed

    def check(self, now: float | None = None) -> list[Event]:
        """Warnings due at `now`: a stall (nothing for `stall_after` s during training) or a slowdown (s/it at
        `slowdown_factor` × the baseline). Each is given once until the run recovers."""
        now = self.clock() if now is None else now
        out: list[Event] = []
        quiet = now - self._last_activity
        if self.training_started and not self._stalled and quiet >= self.stall_after:
            self._stalled = True
            where = f"step {self.step}/{self.total}" if self.step is not None else "the first step"
            out.append(
                Event(
                    "warning",
                    code="stall",
                    step=self.step,
                    total=self.total,
                    message=(
                        f"No progress for {format_duration(quiet)} ({self.phase or 'training'}, at {where})."
                    ),
                )
            )
        speed = self.seconds_per_it
        if self.baseline and speed is not None:
            slow = speed >= self.slowdown_factor * self.baseline
            if slow and not self._slow:
                out.append(
                    Event(
                        "warning",
                        code="slowdown",
                        step=self.step,
                        total=self.total,
                        seconds_per_it=speed,
                        message=(
                            f"Steps take {speed:.3g} s/it, {speed / self.baseline:.1f}× this run's "
                            f"baseline of {self.baseline:.3g} s/it."
                        ),
                    )
                )
            self._slow = slow
        self.warnings.extend(out)
        return out

    def snapshot(self) -> dict[str, Any]:
        """The live state as plain data, for the run record."""
        return {
            "phase": self.phase,
            "step": self.step,
            "total": self.total,
            "loss": self.loss,
            "loss_ema": self.loss_ema,
            "lr": self.lr,
            "seconds_per_it": self.seconds_per_it,
            "baseline_seconds_per_it": self.baseline,
            "eta_seconds": self.eta,
            "last_checkpoint": self.last_checkpoint,
            "resumed_from": self.resumed_from,
        }

    def status_line(self) -> str:
        """One line of the current state, e.g. for a log or a non-terminal console."""
        if not self.training_started:
            return f"[{self.phase or 'starting'}]"
        step = self.step if self.step is not None else 0
        parts = [f"[{self.phase}] step {step}/{self.total or '?'}"]
        if self.total and self.step is not None:
            parts[0] += f" ({100 * self.step / self.total:.0f}%)"
        parts.append(stats_text(self))
        return "  ".join(p for p in parts if p)


def stats_text(f: Follower, compact: bool = False) -> str:
    """The numbers beside the bar. The loss shown is smoothed (an average over recent steps), so it is called
    `avg loss`, unlike the raw last loss of the final summary; a narrow terminal drops lr and the last save."""
    parts = []
    if f.loss_ema is not None:
        parts.append(f"avg loss {f.loss_ema:.4g}")
    if f.lr is not None and not compact:
        parts.append(f"lr {f.lr:.1e}")
    if f.seconds_per_it is not None:
        parts.append(f"{f.seconds_per_it:.3g} s/it")
    if f.eta is not None:
        parts.append(f"ETA {format_duration(f.eta)}")
    if f.last_checkpoint and not compact:
        parts.append(f"saved step {f.last_checkpoint['step']}")
    return "  ".join(parts)


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class LiveView:
    """One progress bar (step/total, smoothed loss, lr, s/it, ETA, last checkpoint) on a terminal; plain
    periodic lines when the output is a file or a pipe."""

    def __init__(
        self,
        follower: Follower,
        *,
        file: TextIO | None = None,
        interval: float = 30.0,
        plain: bool | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.follower, self.file, self.interval = follower, file or sys.stdout, interval
        self.plain = plain if plain is not None else not self.file.isatty()
        self.clock = clock or follower.clock
        self._progress = self._task = None
        self._compact = False
        self._last_line: str | None = None
        self._last_print: float | None = None
        self._shown: tuple = ()

    def __enter__(self) -> LiveView:
        if not self.plain:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            console = Console(file=self.file)
            self._compact = console.width < 100
            self._progress = Progress(  # step/total before the bar: the last thing a narrow terminal should cut
                TextColumn("[bold]{task.description}"),
                MofNCompleteColumn(),
                BarColumn(bar_width=12 if self._compact else 30),
                TextColumn("{task.fields[stats]}"),
                console=console,
                auto_refresh=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("starting", total=None, stats="")
        return self

    def __exit__(self, *exc: object) -> None:
        self.refresh(force=True)
        if self._progress is not None:
            self._progress.stop()

    def note(self, text: str) -> None:
        """A message (warning, checkpoint) printed above the bar or as its own line."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.file, flush=True)

    def refresh(self, now: float | None = None, force: bool = False) -> None:
        f = self.follower
        if self._progress is not None:
            label = f.phase or "starting"
            total = f.total if f.training_started else None
            self._progress.update(
                self._task,
                description=label,
                completed=f.step or 0,
                total=total,
                stats=stats_text(f, self._compact) if f.training_started else "",
            )
            self._progress.refresh()
            return
        now = self.clock() if now is None else now
        shown = (f.phase, (f.last_checkpoint or {}).get("step"))
        due = self._last_print is None or now - self._last_print >= self.interval
        if force or shown != self._shown or (due and f.training_started):
            line = f.status_line()
            self._shown = shown
            if line == self._last_line and not (due and f.training_started):
                return  # the same words again (a phase left and re-entered, the final refresh) say nothing new
            print(line, file=self.file, flush=True)
            self._last_print, self._last_line = now, line
