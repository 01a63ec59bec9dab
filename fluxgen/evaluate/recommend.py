"""The recommendation: the checkpoint and strength with the best fidelity whose flexibility and copy score stay
within bounds. Every threshold carries its origin, like a plan value."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean
from typing import Any

from fluxgen.evaluate.metrics import METRICS

MAX_FLEX_DROP = 0.03
MAX_COPY = 0.90
MIN_COPY_RISE = 0.05
LITERATURE = "DreamBooth, Ruiz et al., CVPR 2023 (ref:captioners-and-lora-formats)"


@dataclass(frozen=True)
class Bounds:
    max_flex_drop: float = MAX_FLEX_DROP
    max_copy: float = MAX_COPY

    def rule(self) -> list[dict[str, str]]:
        """The rule as rows of (what, value, origin), shown by the CLI, eval.json, the report and the card."""
        return [
            {"name": "fidelity", "value": "highest mean DINO similarity to the training images, relative to "
             "strength 0 (ties: CLIP-I, then the strength nearest 1.0)",
             "origin": f"subject fidelity as measured in {LITERATURE}; pick the checkpoint before overfitting "
                       "(seed:000 'test multiple points', seed:004 'select best epoch')"},
            {"name": "flexibility", "value": f"CLIP-T at most {self.max_flex_drop:g} below strength 0 at the same "
             "prompt and seed", "origin": "prompt fidelity (CLIP-T) as in " + LITERATURE + "; the flexibility "
             "prompts of seed:000 (watercolor, Pixar-like 3D, pencil sketch, 35 mm); bound: fluxgen's choice, "
             "~10% of a typical CLIP-T of 0.3 (--max-flex-drop)"},
            {"name": "copy", "value": f"a cell copies when its closest training image is at {self.max_copy:g} DINO "
             f"similarity or more and {MIN_COPY_RISE:g} closer than the base model gets", "origin": "seed:000: 'if all it can do is copy the training "
             "images, that's overfitting'; bound: fluxgen's choice for a near-duplicate (--max-copy)"},
            {"name": "strengths", "value": "0.6, 0.8, 1.0, 1.2 and 0 (the base model, the reference)",
             "origin": "seed:003's strength table: 0.5-0.7 subtle, 0.8-1.0 balanced, 1.0-1.2 strong, "
                       "1.3+ overpowering"},
        ]


def summarize(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per checkpoint and strength: the mean of each metric and of its change from strength 0."""
    refs = {(c["prompt"], c["seed"]): c["metrics"] for c in cells if c["strength"] == 0.0 and c.get("metrics")}
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for c in cells:
        if c.get("metrics"):
            groups.setdefault((c["step"], c["checkpoint"], c["strength"]), []).append(c)
    rows = []
    for (step, checkpoint, strength), members in groups.items():
        row: dict[str, Any] = {"step": step, "checkpoint": checkpoint, "strength": strength, "cells": len(members)}
        for m in METRICS:
            row[m] = round(mean(c["metrics"][m] for c in members), 6)
            deltas = [c["metrics"][m] - refs[(c["prompt"], c["seed"])][m] for c in members
                      if (c["prompt"], c["seed"]) in refs]
            row[f"d_{m}"] = round(mean(deltas), 6) if deltas else None
            row[f"ref_{m}"] = round(mean(refs[(c["prompt"], c["seed"])][m] for c in members
                                         if (c["prompt"], c["seed"]) in refs), 6) if deltas else None
        rows.append(row)
    return sorted(rows, key=lambda r: (r["step"] is not None, r["step"] or 0, r["strength"]))


def recommend(rows: list[dict[str, Any]], bounds: Bounds) -> dict[str, Any]:
    """Apply the rule; when no cell passes, say which bound stopped each and recommend nothing."""
    candidates = [r for r in rows if r["strength"] != 0.0 and r["d_dino"] is not None]
    passing, stopped = [], {"flexibility": 0, "copy": 0}
    for r in candidates:
        flexible = r["d_clip_t"] >= -bounds.max_flex_drop
        copying = r["copy"] >= bounds.max_copy and r["copy"] - r["ref_copy"] >= MIN_COPY_RISE
        stopped["flexibility"] += not flexible
        stopped["copy"] += copying
        if flexible and not copying:
            passing.append(r)
    result: dict[str, Any] = {"rule": bounds.rule(), "bounds": {"max_flex_drop": bounds.max_flex_drop,
                              "max_copy": bounds.max_copy}, "candidates": len(candidates),
                              "passing": len(passing), "stopped": stopped}
    if not passing:
        result["choice"] = None
        result["why"] = (f"no checkpoint and strength passes: {stopped['flexibility']} lose too much flexibility, "
                         f"{stopped['copy']} copy a training image; train fewer steps or a lower LR (seed:000)")
        return result
    best = max(passing, key=lambda r: (r["d_dino"], r["d_clip_i"], -abs(r["strength"] - 1.0)))
    result["choice"] = {k: best[k] for k in ("step", "checkpoint", "strength", "dino", "clip_i", "clip_t", "copy",
                                             "d_dino", "d_clip_i", "d_clip_t")}
    result["why"] = (f"best fidelity (DINO {best['d_dino']:+.3f}, CLIP-I {best['d_clip_i']:+.3f} over the base "
                     f"model) with flexibility kept (CLIP-T {best['d_clip_t']:+.3f}) and copy score "
                     f"{best['copy']:.3f}; {len(passing)} of {len(candidates)} cells pass")
    return result
