"""What `fluxgen eval` generates: checkpoints × prompts × strengths × seeds, and a stable key per image."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError

MAX_CHECKPOINTS = 8
# seed:003's strength table: 0.5-0.7 subtle, 0.8-1.0 balanced, 1.0-1.2 strong, 1.3+ overpowering; 0 = base model.
DEFAULT_STRENGTHS = (0.0, 0.6, 0.8, 1.0, 1.2)
STACK_WARN_TOTAL = 1.5  # seed:003: "total combined strength should stay under 1.5-1.8"


@dataclass(frozen=True)
class Checkpoint:
    step: int | None
    path: Path

    @property
    def label(self) -> str:
        return f"step {self.step}" if self.step is not None else self.path.name


@dataclass(frozen=True)
class Extra:
    """A LoRA stacked under every cell (`--with FILE:WEIGHT`), e.g. a style on a subject (seed:000)."""

    path: Path
    weight: float


@dataclass
class Grid:
    base: str
    checkpoints: list[Checkpoint]
    prompts: list[str]
    strengths: list[float]
    seeds: list[int]
    size: int
    steps: int
    guidance: float
    extras: list[Extra] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)

    def cells(self) -> list[dict[str, Any]]:
        """Strength 0 does not depend on the checkpoint: one reference cell per prompt and seed."""
        out = [self.cell(None, p, 0.0, s) for p in self.prompts for s in self.seeds] if 0.0 in self.strengths else []
        out += [self.cell(ck, p, st, s) for ck in self.checkpoints for st in self.strengths if st != 0.0
                for p in self.prompts for s in self.seeds]
        return out

    def cell(self, ck: Checkpoint | None, prompt: str, strength: float, seed: int) -> dict[str, Any]:
        return {"step": ck.step if ck else None, "checkpoint": str(ck.path) if ck else None, "prompt": prompt,
                "strength": strength, "seed": seed}

    def key(self, cell: dict[str, Any]) -> str:
        """Everything that changes the pixels, hashed: a rerun reuses an image only if it would be the same."""
        ck = cell["checkpoint"]
        stamp = _file_stamp(Path(ck)) if ck else None
        parts = {"base": self.base, "lora": stamp, "prompt": cell["prompt"], "strength": cell["strength"],
                 "seed": cell["seed"], "size": self.size, "steps": self.steps, "guidance": self.guidance,
                 "with": [[_file_stamp(e.path), e.weight] for e in self.extras]}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        return {"base": self.base, "checkpoints": [{"step": c.step, "path": str(c.path)} for c in self.checkpoints],
                "prompts": self.prompts, "strengths": self.strengths, "seeds": self.seeds, "size": self.size,
                "steps": self.steps, "guidance": self.guidance,
                "with": [asdict(e) | {"path": str(e.path)} for e in self.extras], "origins": self.origins}


def _file_stamp(path: Path) -> list:
    try:
        st = path.stat()
    except OSError:
        return [str(path), None, None]
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def thin(items: list, limit: int = MAX_CHECKPOINTS) -> list:
    """First, last and evenly spaced between: the shape of training is kept when there are many saves."""
    if len(items) <= limit:
        return list(items)
    picks = sorted({round(i * (len(items) - 1) / (limit - 1)) for i in range(limit)})
    return [items[i] for i in picks]


def select_checkpoints(available: list[Checkpoint], choice: str) -> list[Checkpoint]:
    """`all` (thinned to 8), `last`, or `STEP,STEP`."""
    if not available:
        raise UserError("no LoRA checkpoints found in the run; has it saved any (output/*.safetensors)?")
    if choice == "all":
        return thin(available)
    if choice == "last":
        return [available[-1]]
    try:
        wanted = [int(s) for s in choice.split(",") if s.strip()]
    except ValueError:
        raise UserError(f"--checkpoints {choice}: give all, last or steps like 250,500") from None
    by_step = {c.step: c for c in available}
    missing = [s for s in wanted if s not in by_step]
    if missing or not wanted:
        have = ", ".join(str(c.step) for c in available)
        raise UserError(f"--checkpoints: no checkpoint at step {', '.join(map(str, missing))}; the run has {have}")
    return [by_step[s] for s in wanted]


def parse_numbers(text: str, option: str, kind=float) -> list:
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{option} {text}: give comma-separated numbers, e.g. 0,0.8,1.0") from None
    if not values:
        raise UserError(f"{option}: give at least one value")
    return values


def parse_extra(text: str) -> Extra:
    path, sep, weight = text.rpartition(":")
    try:
        value = float(weight)
    except ValueError:
        value = None
    if not sep or value is None:
        raise UserError(f"--with {text}: give FILE:WEIGHT, e.g. style.safetensors:0.5")
    if not Path(path).is_file():
        raise UserError(f"--with {path}: no such file")
    return Extra(Path(path), value)


def stacking_warning(strengths: list[float], extras: list[Extra]) -> str | None:
    if not extras:
        return None
    total = max(strengths) + sum(abs(e.weight) for e in extras)
    if total <= STACK_WARN_TOTAL:
        return None
    return (f"stacked strength reaches {total:g} (strongest cell {max(strengths):g} + --with "
            f"{sum(abs(e.weight) for e in extras):g}); above 1.5-1.8 in total LoRAs produce artifacts [seed:003]")


def read_prompts(path: Path) -> list[str]:
    from fluxgen.fsio import read_text_file

    prompts = [line.strip() for line in read_text_file(path).splitlines() if line.strip() and not line.startswith("#")]
    if not prompts:
        raise UserError(f"{path}: no prompts (one per line, # starts a comment)")
    return prompts
