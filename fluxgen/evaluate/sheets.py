"""Contact sheets (rows: checkpoints, columns: strengths) and the metric-against-step chart, drawn with Pillow."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

LABEL_W, LABEL_H, PAD = 90, 22, 4
COLOURS = {"d_dino": (31, 119, 180), "d_clip_i": (44, 160, 44), "d_clip_t": (214, 39, 40), "d_copy": (148, 103, 189)}
NAMES = {"d_dino": "DINO vs base", "d_clip_i": "CLIP-I vs base", "d_clip_t": "CLIP-T vs base", "d_copy": "copy score vs base"}


def contact_sheet(rows: list[tuple[str, list[Path | None]]], strengths: list[float], side: int) -> bytes:
    """One PNG: a header row of strengths, then one row per checkpoint; missing cells stay grey."""
    from PIL import Image, ImageDraw

    width = LABEL_W + len(strengths) * (side + PAD) + PAD
    height = LABEL_H + len(rows) * (side + PAD) + PAD
    sheet = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    for j, strength in enumerate(strengths):
        text = "base (0)" if strength == 0 else f"strength {strength:g}"
        draw.text((LABEL_W + j * (side + PAD) + PAD, 5), text, fill=(0, 0, 0))
    for i, (label, paths) in enumerate(rows):
        top = LABEL_H + i * (side + PAD)
        draw.text((PAD, top + side // 2 - 6), label, fill=(0, 0, 0))
        for j, path in enumerate(paths):
            left = LABEL_W + j * (side + PAD) + PAD
            if path is None or not path.is_file():
                draw.rectangle([left, top, left + side, top + side], fill=(200, 200, 200))
                continue
            with Image.open(path) as image:
                sheet.paste(image.convert("RGB").resize((side, side)), (left, top))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def curves_png(rows: list[dict[str, Any]], strength: float) -> bytes:
    """Each metric's change from the base model against the training step, at one strength."""
    from PIL import Image, ImageDraw

    points = sorted((r for r in rows if r["strength"] == strength and r["step"] is not None),
                    key=lambda r: r["step"])
    w, h, left, top, bottom = 640, 300, 60, 30, 40
    image = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(image)
    draw.text((left, 8), f"metrics against step at strength {strength:g}", fill=(0, 0, 0))
    series = {k: [(r["step"], r[k]) for r in points if r.get(k) is not None] for k in COLOURS}
    values = [v for s in series.values() for _, v in s] or [0.0, 1.0]
    lo, hi = min(values + [0.0]), max(values + [0.0])
    hi = hi if hi > lo else lo + 1.0
    steps = [p["step"] for p in points] or [0, 1]
    s_lo, s_hi = min(steps), max(steps) if max(steps) > min(steps) else min(steps) + 1

    def xy(step: float, value: float) -> tuple[float, float]:
        return (left + (step - s_lo) / (s_hi - s_lo) * (w - left - 150),
                top + (hi - value) / (hi - lo) * (h - top - bottom))

    draw.rectangle([left, top, w - 150, h - bottom], outline=(180, 180, 180))
    draw.line([xy(s_lo, 0.0), xy(s_hi, 0.0)], fill=(200, 200, 200))
    ticks = {0.0: "0", lo: f"{lo:+.3f}", hi: f"{hi:+.3f}"}  # a bound equal to 0 is labelled once
    for value, label in ticks.items():
        draw.text((4, xy(s_lo, value)[1] - 6), label, fill=(90, 90, 90))
    for step in steps:
        draw.text((xy(step, lo)[0] - 8, h - bottom + 6), str(step), fill=(90, 90, 90))
    for n, (key, pts) in enumerate(series.items()):
        colour = COLOURS[key]
        coords = [xy(s, v) for s, v in pts]
        if len(coords) > 1:
            draw.line(coords, fill=colour, width=2)
        for x, y in coords:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        draw.line([(w - 140, top + 10 + n * 18), (w - 120, top + 10 + n * 18)], fill=colour, width=3)
        draw.text((w - 115, top + 4 + n * 18), NAMES[key], fill=(0, 0, 0))
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
