"""The loss curve as a PNG drawn with Pillow: no plotting library, byte-identical output for equal input.

Raw losses are faint dots, an EMA (bias-corrected, like TensorBoard's smoothing) is the line, checkpoints
are orange ticks. A loss range wider than 20× is drawn on a log scale so early spikes do not flatten the rest.
"""

from __future__ import annotations

import io
import math

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


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ValueError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _label(value: float) -> str:
    return f"{value:.4g}"


def draw_loss_png(points: list[tuple[int, float]], checkpoints: list[int], total_steps: int | None) -> bytes:
    """PNG bytes of the loss curve; a run without loss values still gets axes and a note."""
    from PIL import Image, ImageDraw

    finite = [(s, v) for s, v in sorted(points, key=lambda p: p[0]) if math.isfinite(v)]
    s = SCALE
    img = Image.new("RGB", (WIDTH * s, HEIGHT * s), "white")
    draw = ImageDraw.Draw(img)
    font, small = _font(13 * s), _font(11 * s)
    left, top, right, bottom = MARGIN[0] * s, MARGIN[1] * s, (WIDTH - MARGIN[2]) * s, (HEIGHT - MARGIN[3]) * s
    x_max = max([total_steps or 0, *(p[0] for p in finite), *checkpoints, 1])
    x_of = lambda step: left + (right - left) * step / x_max  # noqa: E731

    losses = [v for _, v in finite]
    log = bool(losses) and min(losses) > 0 and max(losses) / min(losses) >= LOG_RATIO
    y_lo, y_hi, ticks = _y_range(losses, log)
    tf = (lambda v: math.log10(v)) if log else (lambda v: v)
    y_of = lambda v: bottom - (bottom - top) * (tf(v) - tf(y_lo)) / (tf(y_hi) - tf(y_lo))  # noqa: E731

    for t in ticks:
        y = y_of(t)
        draw.line([(left, y), (right, y)], fill=GRID, width=s)
        draw.text((left - 8 * s, y), _label(t), fill=INK, font=small, anchor="rm")
    for t in (t for t in nice_ticks(0, x_max, 8) if t == int(t)):
        x = x_of(t)
        draw.line([(x, bottom), (x, bottom + 5 * s)], fill=AXIS, width=s)
        draw.text((x, bottom + 8 * s), f"{int(t)}", fill=INK, font=small, anchor="mt")
    draw.rectangle([left, top, right, bottom], outline=AXIS, width=s)
    draw.text(((left + right) / 2, (HEIGHT - 6) * s), "step", fill=INK, font=font, anchor="md")
    skipped = len(points) - len(finite)
    title = "loss (log scale)" if log else "loss"
    if skipped:
        title += f"  ·  {skipped} non-finite value{'s' if skipped > 1 else ''} not drawn"
    draw.text((left, top - 10 * s), title, fill=INK, font=font, anchor="ld")

    for step in checkpoints:
        x = x_of(step)
        draw.line([(x, bottom - 12 * s), (x, bottom)], fill=CKPT, width=2 * s)
        draw.line([(x, top), (x, top + 12 * s)], fill=CKPT, width=2 * s)
    r = 1.5 * s
    for step, v in finite:
        x, y = x_of(step), y_of(v)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=RAW)
    weight = ema_weight(len(losses))
    if len(finite) > 1:
        smooth = ema(losses, weight)
        draw.line([(x_of(p[0]), y_of(v)) for p, v in zip(finite, smooth, strict=True)], fill=EMA, width=2 * s,
                  joint="curve")
    _legend(draw, right, top, weight, small, s)
    if not finite:
        draw.text(((left + right) / 2, (top + bottom) / 2), "no loss values recorded", fill=INK, font=font,
                  anchor="mm")
    img = img.resize((WIDTH, HEIGHT), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return buf.getvalue()


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
