"""From the command line's options and the run's plan to a `Grid`, each setting with its origin."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fluxgen.errors import UserError
from fluxgen.evaluate.grid import (
    DEFAULT_STRENGTHS,
    Grid,
    parse_extra,
    parse_numbers,
    read_prompts,
    select_checkpoints,
)
from fluxgen.evaluate.source import Source


@dataclass
class EvalOptions:
    checkpoints: str = "all"
    prompts: Path | None = None
    strengths: str | None = None
    seeds: str | None = None
    base: str | None = None
    size: int | None = None
    steps: int | None = None
    guidance: float | None = None
    extras: list[str] = field(default_factory=list)


def flexibility_prompts(kind: str) -> list[str]:
    from fluxgen.rules.samples import PROMPTS_BY_KIND

    return list(PROMPTS_BY_KIND.get(kind, PROMPTS_BY_KIND["subject"])[0])


def build_grid(src: Source, opts: EvalOptions) -> Grid:
    v, origins = src.values, {}
    base = opts.base or src.base
    if not base:
        raise UserError("no base model known for this LoRA; pass --base PATH|HUB_ID (a diffusers FLUX.1)")
    origins["base"] = "--base" if opts.base else "the run's plan (model.base)" if src.run_dir else "file metadata"
    if opts.prompts:
        prompts, origins["prompts"] = read_prompts(opts.prompts), f"--prompts {opts.prompts}"
    else:
        prompts = list(dict.fromkeys(list(v.get("sample_prompts") or []) + flexibility_prompts(src.kind)))
        origins["prompts"] = f"the plan's sample prompts + the {src.kind} flexibility tests (seed:000, seed:003)"
    trigger = src.trigger or "the subject"
    prompts = list(dict.fromkeys(p.replace("[trigger]", trigger) for p in prompts))
    strengths = parse_numbers(opts.strengths, "--strengths") if opts.strengths else list(DEFAULT_STRENGTHS)
    if 0.0 not in strengths:
        strengths.insert(0, 0.0)  # the base model is the reference every metric is relative to
    origins["strengths"] = "--strengths (+ 0, the reference)" if opts.strengths else \
        "seed:003's strength table (0.6-1.2) and 0, the base model alone"
    seed0 = int(v.get("sample_seed", 42))
    seeds = parse_numbers(opts.seeds, "--seeds", int) if opts.seeds else [seed0, seed0 + 1]
    origins["seeds"] = "--seeds" if opts.seeds else "the plan's sample seed and the next one"
    size = opts.size or int(v.get("sample_size", 1024))
    steps = opts.steps or int(v.get("sample_steps", 20))
    guidance = opts.guidance if opts.guidance is not None else float(v.get("sample_guidance", 3.5))
    origins["sampling"] = "options" if (opts.size or opts.steps or opts.guidance is not None) else \
        "the plan's sample settings (size, steps, guidance)"
    return Grid(base, select_checkpoints(src.checkpoints, opts.checkpoints), prompts,
                sorted(set(strengths)), seeds, size, steps, guidance, [parse_extra(e) for e in opts.extras],
                origins)
