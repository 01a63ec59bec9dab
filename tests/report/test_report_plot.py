"""loss.png drawn with Pillow: right size, not blank, byte-identical for equal input, log scale when needed."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fluxgen.report import write_report
from fluxgen.report.plot import (
    EMA,
    HEIGHT,
    WIDTH,
    draw_loss_png,
    ema,
    ema_weight,
    log_ticks,
    nice_ticks,
    use_log_scale,
)


def _image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def _near(img: Image.Image, color: tuple[int, int, int], tol: int = 30) -> int:
    diff = np.abs(np.asarray(img, dtype=np.int16) - np.array(color, dtype=np.int16))
    return int((diff <= tol).all(axis=2).sum())


def _colors(img: Image.Image) -> int:
    return len(img.getcolors(maxcolors=1 << 24))


def test_loss_png_of_a_completed_run(completed_run: Path):
    _, png_path = write_report(completed_run)
    img = _image(png_path.read_bytes())
    assert img.size == (WIDTH, HEIGHT)
    assert _colors(img) > 50  # axes, text, points and curve, not a blank canvas
    assert _near(img, EMA) > 500  # the smoothed line is drawn


def test_same_input_gives_the_same_bytes():
    points = [(i, 1.0 / (1 + i) + 0.01 * (i % 7)) for i in range(1, 300)]
    assert draw_loss_png(points, [100, 200], 300) == draw_loss_png(list(points), [100, 200], 300)


def test_report_png_is_deterministic(completed_run: Path):
    _, png_path = write_report(completed_run)
    first = png_path.read_bytes()
    write_report(completed_run)
    assert png_path.read_bytes() == first


def test_empty_and_non_finite_losses_still_draw():
    empty = _image(draw_loss_png([], [], None))
    assert empty.size == (WIDTH, HEIGHT) and _colors(empty) > 5
    with_nan = _image(draw_loss_png([(1, 0.5), (2, math.nan), (3, math.inf), (4, 0.4)], [2], 10))
    assert with_nan.size == (WIDTH, HEIGHT)


def test_wide_loss_range_switches_to_log_scale():
    # a first-steps spike of 50 over a 0.05 floor: on a linear axis the rest would be one flat line
    wide = [(i, 50.0 * math.exp(-i / 3) + 0.05) for i in range(1, 200)]
    narrow = [(i, 0.3 + 0.001 * (i % 5)) for i in range(1, 200)]
    assert use_log_scale([v for _, v in wide]) and not use_log_scale([v for _, v in narrow])
    assert not use_log_scale([-0.5, 30.0]) and not use_log_scale([])
    assert _image(draw_loss_png(wide, [], None)).size == (WIDTH, HEIGHT)
    assert log_ticks(0.04, 60) == [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50]


def test_nice_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0, 1000, 8) == [0, 200, 400, 600, 800, 1000]
    assert nice_ticks(0.18, 0.52, 5) == pytest.approx([0.2, 0.3, 0.4, 0.5])


def test_ema_is_bias_corrected_and_smooths():
    assert ema([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])  # no pull towards 0 at the start
    noisy = [1.0 if i % 2 else 0.0 for i in range(200)]
    smooth = ema(noisy, ema_weight(len(noisy)))
    assert max(smooth[100:]) - min(smooth[100:]) < 0.3
    assert ema_weight(3) == 0.0 and 0.0 < ema_weight(200) < ema_weight(5000) <= 0.97
