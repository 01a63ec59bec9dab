"""The loss curve as a PNG drawn with Pillow: no plotting library, byte-identical output for equal input.

Raw losses are faint dots, an EMA (bias-corrected, like TensorBoard's smoothing) is the line, checkpoints
are orange ticks. A loss range wider than 20× is drawn on a log scale so early spikes do not flatten the rest.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

WIDTH, HEIGHT = 1000, 420
SCALE = 2  # drawn at twice the size, then downsampled: smooth lines without antialiasing support
MARGIN = (76, 40, 24, 52)  # left, top, right, bottom (output pixels)
LOG_RATIO = 20.0
RAW, EMA, CKPT, GRID, AXIS, INK = (158, 190, 228), (28, 86, 176), (226, 118, 20), (232, 235, 240), \
    (120, 124, 130), (40, 42, 46)


def ema_weight(n: int) -> float:
    """Smoothing over a window of about 1/25 of the points (0 below 5 points, at most 0.97), so short runs
    stay close to the data and long noisy ones get a calm line."""
    return 0.0 if n < 5 else min(0.97, max(0.0, 1.0 - 2.0 / (n / 25 + 1)))


def ema(values: list[float], weight: float) -> list[float]:
    out, acc = [], 0.0
    for i, v in enumerate(values, start=1):
        acc = weight * acc + (1 - weight) * v
        out.append(acc / (1 - weight**i) if weight else v)
    return out


def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """Round tick values (1, 2, 5 × 10^k apart) covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def log_ticks(lo: float, hi: float) -> list[float]:
    ticks = []
    for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        ticks += [m * 10**k for m in (1, 2, 5) if lo <= m * 10**k <= hi]
    return ticks


def use_log_scale(losses: list[float]) -> bool:
    """Log scale when all losses are positive and span at least LOG_RATIO× (early spikes, diverging runs)."""
    return bool(losses) and min(losses) > 0 and max(losses) / min(losses) >= LOG_RATIO


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ValueError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _label(value: float) -> str:
    return f"{value:.4g}"


@dataclass
class _Frame:
    """The plot area in canvas pixels and the data → pixel mapping."""

    left: float
    top: float
    right: float
    bottom: float
    x_max: float
    y_lo: float
    y_hi: float
    log: bool

    def x(self, step: float) -> float:
        return self.left + (self.right - self.left) * step / self.x_max

    def y(self, value: float) -> float:
        tf = math.log10 if self.log else float
        span = tf(self.y_hi) - tf(self.y_lo)
        return self.bottom - (self.bottom - self.top) * (tf(value) - tf(self.y_lo)) / span


def draw_loss_png(points: list[tuple[int, float]], checkpoints: list[int], total_steps: int | None) -> bytes:
    """PNG bytes of the loss curve; a run without loss values still gets axes and a note."""
    from PIL import Image, ImageDraw

    finite = [(st, v) for st, v in sorted(points, key=lambda p: p[0]) if math.isfinite(v)]
    losses = [v for _, v in finite]
    log = use_log_scale(losses)
    y_lo, y_hi, ticks = _y_range(losses, log)
    s = SCALE
    frame = _Frame(MARGIN[0] * s, MARGIN[1] * s, (WIDTH - MARGIN[2]) * s, (HEIGHT - MARGIN[3]) * s,
                   max([total_steps or 0, *(p[0] for p in finite), *checkpoints, 1]), y_lo, y_hi, log)
    img = Image.new("RGB", (WIDTH * s, HEIGHT * s), "white")
    draw = ImageDraw.Draw(img)
    skipped = len(points) - len(finite)
    title = ("loss (log scale)" if log else "loss") + (
        f"  ·  {skipped} non-finite value{'s' if skipped > 1 else ''} not drawn" if skipped else "")
    _axes(draw, frame, ticks, title)
    weight = ema_weight(len(losses))
    _series(draw, frame, finite, checkpoints, weight)
    _legend(draw, frame.right, frame.top, weight, _font(11 * s), s)
    img = img.resize((WIDTH, HEIGHT), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def _axes(draw, f: _Frame, y_ticks: list[float], title: str) -> None:
    s, font, small = SCALE, _font(13 * SCALE), _font(11 * SCALE)
    for t in y_ticks:
        draw.line([(f.left, f.y(t)), (f.right, f.y(t))], fill=GRID, width=s)
        draw.text((f.left - 8 * s, f.y(t)), _label(t), fill=INK, font=small, anchor="rm")
    for t in (t for t in nice_ticks(0, f.x_max, 8) if t == int(t)):
        draw.line([(f.x(t), f.bottom), (f.x(t), f.bottom + 5 * s)], fill=AXIS, width=s)
        draw.text((f.x(t), f.bottom + 8 * s), f"{int(t)}", fill=INK, font=small, anchor="mt")
    draw.rectangle([f.left, f.top, f.right, f.bottom], outline=AXIS, width=s)
    draw.text(((f.left + f.right) / 2, (HEIGHT - 6) * s), "step", fill=INK, font=font, anchor="md")
    draw.text((f.left, f.top - 10 * s), title, fill=INK, font=font, anchor="ld")


def _series(draw, f: _Frame, finite: list[tuple[int, float]], checkpoints: list[int], weight: float) -> None:
    """Checkpoint ticks, then the raw points, then the EMA line on top."""
    s = SCALE
    for step in checkpoints:
        draw.line([(f.x(step), f.bottom - 12 * s), (f.x(step), f.bottom)], fill=CKPT, width=2 * s)
        draw.line([(f.x(step), f.top), (f.x(step), f.top + 12 * s)], fill=CKPT, width=2 * s)
    r = 1.5 * s
    for step, v in finite:
        draw.ellipse([f.x(step) - r, f.y(v) - r, f.x(step) + r, f.y(v) + r], fill=RAW)
    if len(finite) > 1:
        smooth = ema([v for _, v in finite], weight)
        line = [(f.x(p[0]), f.y(v)) for p, v in zip(finite, smooth, strict=True)]
        draw.line(line, fill=EMA, width=2 * s, joint="curve")
    if not finite:
        draw.text(((f.left + f.right) / 2, (f.top + f.bottom) / 2), "no loss values recorded", fill=INK,
                  font=_font(13 * s), anchor="mm")


def _y_range(losses: list[float], log: bool) -> tuple[float, float, list[float]]:
    if not losses:
        return 0.0, 1.0, nice_ticks(0.0, 1.0, 5)
    lo, hi = min(losses), max(losses)
    if log:
        lo, hi = lo / 1.15, hi * 1.15
        return lo, hi, log_ticks(lo, hi)
    pad = (hi - lo) * 0.06 or max(abs(hi) * 0.1, 0.01)
    lo, hi = lo - pad, hi + pad
    return lo, hi, [t for t in nice_ticks(lo, hi, 5) if lo <= t <= hi]


def _legend(draw, right: float, top: float, weight: float, font, s: int) -> None:
    smooth = f"EMA {weight:.2f}" if weight else "EMA (off)"
    items = [("raw", RAW, "dot"), (smooth, EMA, "line"), ("checkpoint", CKPT, "tick")]
    x = right - 300 * s
    y = top - 20 * s
    for label, color, kind in items:
        if kind == "dot":
            draw.ellipse([x + 6 * s, y - 3 * s, x + 12 * s, y + 3 * s], fill=color)
        elif kind == "line":
            draw.line([(x, y), (x + 18 * s, y)], fill=color, width=2 * s)
        else:
            draw.line([(x + 9 * s, y - 6 * s), (x + 9 * s, y + 6 * s)], fill=color, width=2 * s)
        draw.text((x + 24 * s, y), label, fill=INK, font=font, anchor="lm")
        x += 100 * s
