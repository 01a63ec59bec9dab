"""A small captioned sample dataset drawn with Pillow: cybernetic skulls on varied backgrounds (no downloads)."""

from __future__ import annotations

import random
from pathlib import Path

BACKGROUNDS = ["a dark digital void", "a red neon grid", "a rusty workshop bench", "a foggy night street",
               "a white studio backdrop", "a server room", "a desert at dusk", "deep blue water"]
VIEWS = ["facing forward", "seen from the left", "seen from the right", "tilted upward"]


def _skull(draw, rng: random.Random, size: int, view: int) -> None:
    """A skull silhouette with circuit lines: enough structure for a LoRA to learn something visible."""
    r = size // rng.choice((3, 4, 5))
    cx = rng.randint(r, size - r) + int((view - 1.5) * size // 20)
    cy = rng.randint(r, size - r)
    bone = (225 - rng.randint(0, 40), 220 - rng.randint(0, 40), 205)
    draw.ellipse([cx - r, cy - r, cx + r, cy + int(r * 0.8)], fill=bone)
    draw.rectangle([cx - r // 2, cy + r // 2, cx + r // 2, cy + r], fill=bone)
    eye = r // 3
    for dx in (-r // 2, r // 2 - eye):
        draw.ellipse([cx + dx, cy - eye, cx + dx + eye, cy], fill=(20, 20, 30))
        draw.ellipse([cx + dx + eye // 3, cy - 2 * eye // 3, cx + dx + 2 * eye // 3, cy - eye // 3],
                     fill=(0, 255, 200))
    draw.polygon([(cx, cy + eye // 3), (cx - eye // 3, cy + eye), (cx + eye // 3, cy + eye)], fill=(40, 30, 30))
    for k in range(6):
        x = cx - r + rng.randint(0, 2 * r)
        y = cy - r + rng.randint(0, r)
        draw.line([(x, y), (x + rng.randint(-r // 2, r // 2), y), (x + rng.randint(-r // 2, r // 2), y + r // 3)],
                  fill=(0, 200 - 20 * k, 255), width=max(1, size // 128))
    for _ in range(4):
        x, y = cx + rng.randint(-r, r), cy + rng.randint(-r, r // 2)
        draw.rectangle([x, y, x + size // 64 + 1, y + size // 64 + 1], fill=(255, 180, 0))


def make_sample_dataset(folder: Path, n: int = 12, *, size: int = 256, trigger: str = "CSKULL", seed: int = 0) -> Path:
    """n JPEGs with a caption each (`TRIGGER, a cybernetic skull …, <view>, against <background>`)."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        background = BACKGROUNDS[i % len(BACKGROUNDS)]
        top = tuple(rng.randint(0, 120) for _ in range(3))
        bottom = tuple(rng.randint(60, 255) for _ in range(3))
        img = Image.new("RGB", (size, size))
        draw = ImageDraw.Draw(img)
        vertical = rng.random() < 0.5
        for k in range(size):
            t = k / (size - 1)
            colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
            draw.line([(0, k), (size, k)] if vertical else [(k, 0), (k, size)], fill=colour)
        for _ in range(rng.randint(2, 6)):
            x, y, w = rng.randint(0, size), rng.randint(0, size), rng.randint(size // 16, size // 3)
            draw.rectangle([x, y, x + w, y + w // 2], outline=tuple(rng.randint(0, 255) for _ in range(3)),
                           width=max(1, size // 100))
        view = i % len(VIEWS)
        _skull(draw, rng, size, view)
        img = img.filter(ImageFilter.GaussianBlur(radius=0.6))
        img.save(folder / f"skull_{i:02d}.jpg", quality=92)
        caption = f"{trigger}, a cybernetic skull with glowing circuitry, {VIEWS[view]}, against {background}"
        (folder / f"skull_{i:02d}.txt").write_text(caption + "\n", encoding="utf-8")
    return folder
