"""Shapes for `prepare`: a centre square, style patches at least the training size, the short side resized."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

PATCH_OVERLAP = 0.25
# Neighbouring patches overlap by at most three quarters of a side; closer ones would be near-copies.
MIN_PATCH_STEP = 0.25


@dataclass
class PatchPlan:
    """Where the style patches go, and what to tell the user about them."""

    boxes: list[tuple[int, int, int, int]]
    notes: list[str] = field(default_factory=list)


def centre_square(im):
    width, height = im.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return im.crop((left, top, left + side, top + side))


def patch_boxes(width: int, height: int, count: int, min_side: int) -> PatchPlan:
    """`count` overlapping square crops spread over the picture (fal's `is_style` augmentation).

    Each side is at least `min_side` (the training resolution) when the picture allows; when it does not hold
    `count` distinct patches that large, fewer are made, and a picture smaller than `min_side` gives patches of
    its short side. Both cases are said in the notes.
    """
    short = min(width, height)
    grid = max(1, math.ceil(math.sqrt(count)))
    side = short if grid == 1 else int(short / (grid - (grid - 1) * PATCH_OVERLAP))
    side = max(side, min(min_side, short))
    step = max(1, int(side * MIN_PATCH_STEP))
    across, down = _grid(count, 1 + (width - side) // step, 1 + (height - side) // step)
    boxes = [(x, y, x + side, y + side) for y in _spread(height - side, down) for x in _spread(width - side, across)]
    boxes = _pick(boxes, count)
    notes = []
    if len(boxes) < count:
        notes.append(f"{len(boxes)} patch{'es' if len(boxes) != 1 else ''} instead of {count}: the picture does "
                     f"not hold {count} different patches of {side} px")
    if side < min_side:
        notes.append(f"patches are {side} px, smaller than the {min_side} px resolution (pass --upscale to "
                     "enlarge the picture first)")
    return PatchPlan(boxes, notes)


def _grid(count: int, max_across: int, max_down: int) -> tuple[int, int]:
    """Columns × rows holding `count` patches within the distinct positions, as square as possible."""
    best: tuple[int, int] | None = None
    for down in range(1, min(max_down, count) + 1):
        across = math.ceil(count / down)
        if across <= max_across and (best is None or (across * down, abs(across - down)) < (best[0] * best[1],
                                                                                           abs(best[0] - best[1]))):
            best = (across, down)
    return best or (max_across, max_down)


def _spread(free: int, steps: int) -> list[int]:
    if steps == 1:
        return [free // 2]
    return [round(free * i / (steps - 1)) for i in range(steps)]


def _pick(boxes: list, count: int) -> list:
    """`count` of the boxes spread over the list (all of them when there are not more)."""
    if len(boxes) <= count:
        return boxes
    if count == 1:
        return [boxes[len(boxes) // 2]]
    return [boxes[round(i * (len(boxes) - 1) / (count - 1))] for i in range(count)]


def fit_resolution(im, resolution: int, *, upscale: bool) -> tuple[object, str | None]:
    """Short side to the training resolution: shrink larger pictures, enlarge smaller ones only when asked."""
    from PIL import Image

    width, height = im.size
    short = min(width, height)
    if short == resolution or (short < resolution and not upscale):
        return im, None
    scale = resolution / short
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    verb = "enlarged" if scale > 1 else "resized"
    return im.resize(size, Image.Resampling.LANCZOS), f"{verb} {width}×{height} → {size[0]}×{size[1]}"
