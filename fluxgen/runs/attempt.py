"""One attempt of a run: start the trainer, turn its console into events live, record them, classify the end.

The end is judged, not assumed: the exit code, the final LoRA on disk and the events together decide (a trainer
can exit 0 without training); a stop fluxgen asked for (Ctrl-C, SIGTERM, a stall) is reported as such, with the
last checkpoint a resume would continue from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from fluxgen.events import Event, Summary
from fluxgen.monitor.common import LineParser
from fluxgen.runner import ChildRun, Ended, Launch, make_redactor
from fluxgen.runs.record import Recorder
from fluxgen.runs.verdict import classify, redact_result, run_context

if TYPE_CHECKING:
    from fluxgen.plan import Plan

__all__ = ["AttemptResult", "FollowOptions", "LineParser", "classify", "run_attempt"]

NOTE_WARNINGS = ("stall", "slowdown", "nan_loss", "oom_skipped", "resume_mismatch")


@dataclass
class FollowOptions:
    """How fluxgen watches a run: stall/slowdown thresholds, what to do on a stall, the live view."""

    stall_after: float = 600.0
    slowdown_factor: float = 3.0
    on_stall: str = "warn"  # "warn": say so and keep waiting; "stop": stop the trainer, the run fails
    grace: float = 10.0  # seconds between the stop signal and SIGKILL
    out: TextIO | None = None
    plain: bool | None = None  # None: a rich bar on a terminal, plain lines otherwise
    interval: float = 30.0  # seconds between plain progress lines
    follower: dict[str, Any] = field(default_factory=dict)  # more Follower arguments (warmup_steps, …)
    tick: float = 0.25


@dataclass
class AttemptResult:
    number: int
    ended: Ended
    summary: Summary
    outputs: Any
    events: list[Event]


def stream_parser(backend: str) -> Any:
    from fluxgen.backends import get_backend

    return get_backend(backend).new_parser()


class Renumber:
    """After `--resume … --skip_until_initial_step` sd-scripts' bar counts only the remaining steps; put its
    numbers back on the run's scale (step + resumed step, total = planned steps) so progress reads as one run."""

    def __init__(self, planned: int | None) -> None:
        self.planned, self.offset = planned, 0

    def __call__(self, event: Event) -> Event:
        if event.type == "resume" and event.step and self.planned:
            self.offset = event.step
        elif (event.type == "progress" and self.offset and event.total is not None
              and event.total == self.planned - self.offset and event.step is not None):
            event.step, event.total = event.step + self.offset, self.planned
        return event


class Watch:
    """Glue between the child's output and the record: parsers per stream, the follower, the live view."""

    def __init__(self, plan: Plan, recorder: Recorder, options: FollowOptions) -> None:
        from fluxgen.monitor.follow import Follower, LiveView

        self.plan, self.recorder, self.options = plan, recorder, options
        self.parsers = {name: stream_parser(plan.backend) for name in ("stdout", "stderr")}
        self.renumber = Renumber(plan.values.get("steps"))
        self.follower = Follower(total=plan.values.get("steps"), stall_after=options.stall_after,
                                 slowdown_factor=options.slowdown_factor, **options.follower)
        self.view = LiveView(self.follower, file=options.out, interval=options.interval, plain=options.plain)
        self.events: list[Event] = []
        self.child: ChildRun | None = None
        self._unreadable_streams: set[str] = set()
        self._view_gone = False

    def show(self, method: str, *args: Any) -> None:
        """Update the live view; a terminal that went away (closed window: SIGHUP, then EIO on every write) only
        silences the view, the run is still followed and recorded to its end."""
        if self._view_gone:
            return
        try:
            getattr(self.view, method)(*args)
        except OSError:
            self._view_gone = True

    def output(self, stream: str, text: str) -> None:
        self.recorder.output(stream, text)
        try:
            events = self.parsers[stream].feed(text)
        except Exception as exc:  # noqa: BLE001 - a console fluxgen cannot read must not end a training run
            events = self._unreadable(stream, exc)
        self.take(events, stream)

    def _unreadable(self, stream: str, exc: Exception) -> list[Event]:
        """Keep following (train.log still gets everything) with a fresh parser; say so once per stream."""
        self.parsers[stream] = stream_parser(self.plan.backend)
        if stream in self._unreadable_streams:
            return []
        self._unreadable_streams.add(stream)
        return [Event("warning", code="unreadable_console", message=(
            f"fluxgen could not read part of the trainer's {stream} ({type(exc).__name__}: {exc}); train.log "
            "has all of it"))]

    def take(self, events: list[Event], stream: str | None = None) -> None:
        for event in events:
            event = self._in_context(self.renumber(event))
            self.events.append(event)
            self.recorder.event(event, stream)
            self.follower.update(event)
            self._note(event)
        if events:
            self.show("refresh")

    def _in_context(self, event: Event) -> Event:
        """A stream's parser sees only its stream (ai-toolkit prints errors on stdout, its bar on stderr): an
        error takes the run's current step and phase, which the follower knows from both."""
        if event.type == "error":
            if event.step is None:
                event.step = self.follower.step
            event.phase = self.follower.phase or event.phase
        return event

    def tick(self, now: float) -> None:
        for warning in self.follower.check(now):
            self.events.append(warning)
            self.recorder.event(warning)
            self._note(warning)
            if warning.code == "stall" and self.options.on_stall == "stop" and self.child is not None:
                self.recorder.note(f"stopping the trainer: {warning.message}")
                self.child.stop("stall")
        self.show("refresh", now)

    def close(self) -> None:
        for stream, parser in self.parsers.items():
            self.take(parser.close(), stream)

    def _short(self, path: str) -> str:
        """A trainer's path as seen from the run folder (the trainer prints absolute ones)."""
        try:
            return str(Path(path).relative_to(self.recorder.run_dir.resolve()))
        except ValueError:
            return path

    def _note(self, e: Event) -> None:
        redact = self.recorder.redact
        if e.type == "checkpoint":
            self.show("note", f"saved checkpoint step {e.step}: {redact(self._short(e.path or ''))}")
        elif e.type == "resume":
            self.show("note", f"resumed from step {e.step}" + (f" ({redact(e.path)})" if e.path else ""))
        elif e.type == "error":
            self.show("note", f"trainer error: {redact(e.message or '')}")
        elif e.type == "warning" and e.code in NOTE_WARNINGS:
            self.show("note", f"warning: {redact(e.message or '')}")


def run_attempt(run_dir: Path, plan: Plan, launch: Launch, number: int, *, what: str, options: FollowOptions,
                t0: float | None = None, on_start: Callable[[int], None] | None = None,
                expect_resume: int | None = None, previous: dict[str, Any] | None = None) -> AttemptResult:
    """Run the trainer once, to its end, recording as it goes; classify how it ended. `previous` is the run's
    diagnosis before this attempt (a resume of a NaN run that trains nothing has not fixed it)."""
    from fluxgen.backends import get_backend

    redact = make_redactor(launch.environ())
    recorder = Recorder(run_dir, number, what=what, redact=redact, started=t0)
    watch = Watch(plan, recorder, options)
    child = ChildRun(launch, watch.output, on_tick=watch.tick, on_start=on_start, grace=options.grace,
                     tick=options.tick)
    watch.child = child
    try:
        watch.show("__enter__")
        try:
            ended = child.run()
            watch.close()
            if expect_resume is not None:
                _check_resume(watch, expect_resume)
        finally:
            watch.show("__exit__", None, None, None)
    finally:
        recorder.close()
    if recorder.write_error:  # the disk filled up: say what the record lacks rather than end it mid-line
        watch.events.append(Event("warning", code="record_incomplete", step=watch.events[-1].step
                                  if watch.events else None, message=f"The run's record is incomplete: "
                                  f"{recorder.write_error}; free disk space before resuming."))
    outputs = get_backend(plan.backend).find_outputs(plan, Path(run_dir))
    context = run_context(plan, launch, run_dir)
    summary = classify(plan, watch.events, ended, outputs, run_dir, context=context, previous=previous,
                       resumed=expect_resume is not None)
    redact_result(summary, watch.events, redact)  # what goes on to the manifest, the report and stderr
    return AttemptResult(number, ended, summary, outputs, watch.events)


def _check_resume(watch: Watch, expected: int) -> None:
    """ai-toolkit resumes by itself from the newest file: check from its log that it took the expected step."""
    seen = next((e.step for e in watch.events if e.type == "resume"), None)
    if seen == expected:
        return
    said = f"step {seen}" if seen is not None else "the start (no resume in its log)"
    watch.take([Event("warning", code="resume_mismatch", step=seen, message=(
        f"The trainer continued from {said}, but the newest valid checkpoint is step {expected}."))])
