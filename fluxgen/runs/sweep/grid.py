"""`--grid KEY=V1,V2` → points. Each value becomes a `--set KEY=VALUE`, so the intent schema types it exactly as
`--set` would; points whose plans hash the same are trained once."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from fluxgen.errors import UserError


@dataclass
class Point:
    id: str
    values: dict[str, str]  # grid key -> the value as given
    plan_hash: str = ""
    same_as: str | None = None  # the id of an earlier point with the same plan: trained once, under that id
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sets(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.values.items()]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "values": self.values, "plan_hash": self.plan_hash, "same_as": self.same_as,
                **self.extra}


def split_values(text: str) -> list[str]:
    """Split on commas outside brackets and quotes, so `train.resolution=[512,768],[1024]` is two values."""
    values, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    values.append("".join(current).strip())
    return values


def parse_grid(items: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """`KEY=V1,V2` options → {key: [values]}, in the order given."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, rest = item.partition("=")
        key = key.strip()
        if not sep or not key or not rest.strip():
            raise UserError(f"--grid {item}: expected KEY=V1,V2 (e.g. --grid train.lr=1e-4,5e-5)")
        values = split_values(rest)
        if any(v == "" for v in values):
            raise UserError(f"--grid {item}: an empty value; separate values with single commas")
        if key in grid:
            raise UserError(f"--grid {key}: given twice; list all its values in one --grid {key}=V1,V2")
        grid[key] = values
    if not grid:
        raise UserError("a sweep needs at least one --grid KEY=V1,V2 (e.g. --grid train.lr=1e-4,5e-5)")
    return grid


def expand(grid: dict[str, list[str]]) -> list[Point]:
    """The cartesian product, first key slowest: p1, p2, …"""
    keys = list(grid)
    combos = itertools.product(*(grid[k] for k in keys))
    return [Point(f"p{i}", dict(zip(keys, combo, strict=True))) for i, combo in enumerate(combos, 1)]


def plan_points(points: list[Point], plan_for: Any) -> list[Any]:
    """Plan every point (`plan_for(point)` → Plan) and mark those whose plan an earlier point already has."""
    plans, first_by_hash = [], {}
    for point in points:
        try:
            plan = plan_for(point)
        except UserError as exc:
            given = " ".join(f"{k}={v}" for k, v in point.values.items())
            raise UserError(f"--grid point {point.id} ({given}): {exc}") from None
        point.plan_hash = plan.hash
        point.extra = {"vram_tier": plan.values.get("vram_tier"), "dataset": plan.values.get("dataset")}
        point.same_as = first_by_hash.setdefault(plan.hash, point.id)
        point.same_as = None if point.same_as == point.id else point.same_as
        plans.append(plan)
    return plans
