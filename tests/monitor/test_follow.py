"""The live follower with an injected clock: ETA, smoothed loss, stall and slowdown warnings, the view."""

from __future__ import annotations

import io

import pytest
from monitor.captures import parse_whole

from fluxgen.events import Event
from fluxgen.monitor.follow import Follower, LiveView


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _steps(follower: Follower, clock: Clock, steps, seconds: float, total: int = 100) -> None:
    for step in steps:
        clock.now += seconds
        follower.update(Event("progress", step=step, total=total, loss=0.5, lr=1e-4))


def test_eta_from_the_measured_step_time():
    clock = Clock()
    follower = Follower(clock=clock)
    follower.update(Event("phase", phase="training"))
    _steps(follower, clock, range(1, 21), 2.0)
    assert follower.seconds_per_it == 2.0
    assert follower.eta == 80 * 2.0
    assert follower.baseline == 2.0  # median of steps 3-12 (two warm-up steps skipped)
    assert follower.snapshot()["eta_seconds"] == 160.0


def test_a_save_or_sample_pause_is_not_a_slow_step():
    clock = Clock()
    follower = Follower(clock=clock)
    _steps(follower, clock, range(1, 6), 1.0)
    follower.update(Event("phase", phase="sampling", step=5))
    clock.now += 120  # sampling takes two minutes
    follower.update(Event("progress", step=6, total=100, seconds_per_it=1.0))
    assert follower.seconds_per_it == 1.0


def test_stall_when_no_step_comes_during_training():
    clock = Clock()
    follower = Follower(clock=clock, stall_after=600)
    follower.update(Event("phase", phase="loading"))
    clock.now = 5000
    assert follower.check() == []  # loading can take long: not judged
    follower.update(Event("phase", phase="training"))
    _steps(follower, clock, [1, 2, 3], 1.0)
    assert follower.check(clock.now + 599) == []
    (warning,) = follower.check(clock.now + 601)
    assert (warning.type, warning.code, warning.step) == ("warning", "stall", 3)
    assert "10:01" in warning.message and "step 3/100" in warning.message
    assert follower.check(clock.now + 1200) == []  # said once
    _steps(follower, clock, [4], 1.0)
    assert follower.check(clock.now + 601)[0].code == "stall"  # and again after it moved and stopped again


def test_slowdown_against_the_runs_own_baseline():
    clock = Clock()
    follower = Follower(clock=clock, slowdown_factor=3.0)
    _steps(follower, clock, range(1, 15), 2.0)
    assert follower.check() == []
    _steps(follower, clock, range(15, 18), 5.0)  # 2.5x: not yet
    assert follower.check() == []
    _steps(follower, clock, range(18, 24), 60.0)  # memory spilled to system RAM
    (warning,) = follower.check()
    assert warning.code == "slowdown" and warning.seconds_per_it == 60.0
    assert "30.0× this run's baseline of 2 s/it" in warning.message
    assert follower.check() == []
    _steps(follower, clock, range(24, 30), 2.0)
    assert follower.check() == []  # recovered


def test_smoothed_loss_takes_the_corrected_loss_of_a_step():
    follower = Follower(clock=Clock(), ema_beta=0.5)
    follower.update(
        [
            Event("progress", step=1, loss=1.0),
            Event("progress", step=2, loss=9.0),
            Event("progress", step=2, loss=3.0),
        ]
    )  # sd-scripts: the step's own avr_loss comes second
    assert follower.loss == 3.0
    assert follower.loss_ema == pytest.approx((0.25 * 1.0 + 0.5 * 3.0) / 0.75)


def test_follower_on_a_real_capture(read):
    follower = Follower(clock=Clock())
    follower.update(
        parse_whole(
            "ai-toolkit", read("ai-toolkit", "fresh-run.stdout") + read("ai-toolkit", "fresh-run.stderr")
        )
    )
    state = follower.snapshot()
    assert (state["step"], state["total"], state["loss"], state["lr"]) == (5, 5, 1.518, 1e-4)
    assert state["last_checkpoint"] == {
        "step": 5,
        "path": "/data/runs/tiny_flux_lora/tiny_flux_lora.safetensors",
    }
    assert state["eta_seconds"] == 0


def test_plain_view_prints_phases_and_periodic_lines():
    clock, out = Clock(), io.StringIO()
    follower = Follower(clock=clock)
    with LiveView(follower, file=out, interval=30) as view:
        follower.update(Event("phase", phase="loading"))
        view.refresh()
        follower.update(Event("phase", phase="training"))
        for step in range(1, 61):
            clock.now += 1.0
            follower.update(Event("progress", step=step, total=100, loss=0.25, lr=1e-4))
            view.refresh()
        view.note("checkpoint saved")
    lines = out.getvalue().splitlines()
    assert lines[0] == "[loading]"
    assert lines[1].startswith("[training] step 1/100 (1%)")
    assert "step 31/100 (31%)  avg loss 0.25  lr 1.0e-04  1 s/it  ETA 1:09" in lines[2]
    assert lines[3:] == [
        "checkpoint saved",
        "[training] step 60/100 (60%)  avg loss 0.25  lr 1.0e-04  1 s/it  ETA 0:40",
    ]


def test_rich_view_draws_a_bar():
    out = io.StringIO()
    follower = Follower(clock=Clock())
    with LiveView(follower, file=out, plain=False) as view:
        follower.update([Event("phase", phase="training"), Event("progress", step=3, total=10, loss=0.5)])
        view.refresh()
    assert "3/10" in out.getvalue() and "avg loss 0.5" in out.getvalue()


def test_a_bar_that_skips_steps_gives_the_time_per_step():
    from fluxgen.monitor import new_parser

    clock, parser = Clock(), new_parser("sd-scripts")
    follower = Follower(clock=clock)
    for n, at in ((1, 2.0), (5, 10.0), (6, 12.0)):  # tqdm drew 1, then 5: steps 2-4 were never shown
        clock.now = at
        follower.update(parser.feed(f"\rsteps:   0%|          | {n}/100 [00:{at:02.0f}<03:00,  2.00s/it]\n"))
    assert [follower.step, follower.seconds_per_it] == [6, 2.0]
    assert follower.eta == 94 * 2.0


@pytest.mark.parametrize(("phase", "pause", "tqdm_rate"), [("sampling", 120, 25.0), ("saving", 40, 9.0),
                                                           ("sampling", 600, 120.0)])
def test_no_slowdown_right_after_a_sample_or_save(phase: str, pause: float, tqdm_rate: float):
    """tqdm's own rate after a pause counts the pause: it is not a step's time, so it raises no slowdown."""
    clock = Clock()
    follower = Follower(clock=clock)
    follower.update(Event("phase", phase="training"))
    _steps(follower, clock, range(1, 21), 1.0)
    follower.update(Event("phase", phase=phase, step=20))
    clock.now += pause
    follower.update(Event("progress", step=21, total=100, seconds_per_it=tqdm_rate))
    follower.update(Event("progress", step=21, total=100, seconds_per_it=tqdm_rate))
    assert follower.seconds_per_it == 1.0 and follower.check(clock.now) == []


@pytest.mark.parametrize("columns", [80, 72, 100])
def test_the_bar_keeps_step_total_on_a_narrow_terminal(columns: int, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", str(columns))
    out = io.StringIO()
    follower = Follower(clock=Clock())
    with LiveView(follower, file=out, plain=False) as view:
        follower.update([Event("phase", phase="training"),
                         Event("checkpoint", step=1000, path="output/x_000001000.safetensors"),
                         Event("progress", step=1234, total=2000, loss=0.41234, lr=1e-4, seconds_per_it=1.91)])
        view.refresh()
    last = [line for line in out.getvalue().replace("\r", "\n").splitlines() if "1234/2000" in line]
    assert last and "avg loss 0.4123" in last[-1]
    assert ("lr 1.0e-04" in last[-1]) == (columns >= 100)


@pytest.mark.parametrize(("backend", "name"), [("ai-toolkit", "fresh-run.stdout"), ("ai-toolkit", "resume.stderr"),
                                               ("sd-scripts", "success-cols200.log"),
                                               ("ai-toolkit", "missing-dataset.stderr")])
def test_plain_output_never_repeats_a_line(logs, backend: str, name: str):
    from monitor.captures import read_capture

    from fluxgen.monitor import parse_streams

    clock = Clock()
    follower = Follower(clock=clock)
    out = io.StringIO()
    with LiveView(follower, file=out, plain=True) as view:
        for event in parse_streams(backend, [read_capture(backend, name)]):
            clock.now += 0.01
            follower.update(event)
            view.refresh()
    lines = out.getvalue().splitlines()
    assert lines and all(a != b for a, b in zip(lines, lines[1:], strict=False)), lines
