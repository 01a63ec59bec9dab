"""`fluxgen plan`, `render`, `explain`: thin wrappers over fluxgen.plan and the backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fluxgen.backends import BACKENDS
from fluxgen.errors import UserError
from fluxgen.kinds import KINDS

if TYPE_CHECKING:
    from fluxgen.plan import Plan


def plan_options(func: Any) -> Any:
    """The options every planning command shares; each one given overrides the intent."""
    decorators = [
        click.option("--images", type=click.Path(), help="Dataset folder (overrides dataset.path)."),
        click.option("--trigger", help="Trigger word (overrides trigger)."),
        click.option("--kind", type=click.Choice(KINDS), help="What the LoRA learns."),
        click.option("--rank", type=click.IntRange(1, 1024), help="LoRA rank (network.rank); alpha follows it."),
        click.option("--steps", type=click.IntRange(1), help="Training steps (train.steps)."),
        click.option("--backend", help="The trainer: " + ", ".join(BACKENDS.choices()) + "."),
        click.option("--vram", type=click.IntRange(4, 192), help="GPU memory budget in GB."),
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Any intent key, e.g. train.lr=5e-5."),
    ]
    for deco in reversed(decorators):
        func = deco(func)
    return func


def make_plan(intent: str | None, kw: dict[str, Any]) -> Any:
    from fluxgen.plan import PlanOptions, build_plan

    return build_plan(intent, PlanOptions.from_cli(kw))


def plan_json(plan: Plan) -> dict[str, Any]:
    from fluxgen.plan import HEADLINE

    ordered = {k: plan.values[k] for k in HEADLINE if k in plan.values}
    ordered.update({k: v for k, v in plan.values.items() if k not in ordered})
    return {"values": ordered, "origins": plan.origins, "warnings": [w.to_dict() for w in plan.warnings],
            "hash": plan.hash}


@click.command("plan")
@click.argument("intent", required=False)
@plan_options
@click.option("--json", "as_json", is_flag=True, help="Print {values, origins, warnings} as JSON.")
def plan_cmd(intent: str | None, as_json: bool, **kw: Any) -> None:
    """Resolve INTENT (a preset name or a YAML file) into every training value, with its origin and advice."""
    plan = make_plan(intent, kw)
    if as_json:
        click.echo(json.dumps(plan_json(plan), indent=2, ensure_ascii=False))
        return
    from fluxgen.cli.show import print_plan

    print_plan(plan)


@click.command("render")
@click.argument("intent", required=False)
@plan_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--force", is_flag=True, help="Overwrite existing files; render despite dataset errors.")
def render_cmd(intent: str | None, out_dir: str, force: bool, **kw: Any) -> None:
    """Write the trainer's files for INTENT into --out, plus plan.json."""
    from fluxgen.cli.show import print_advice
    from fluxgen.hub import resolve_cached
    from fluxgen.render import render_plan_to

    plan = resolve_cached(make_plan(intent, kw))  # hub files already downloaded are written as local paths
    paths = render_plan_to(plan, Path(out_dir), force=force)
    print_advice(plan, err=True)
    click.echo(f"{plan.backend}: {plan.values['steps']} steps, rank {plan.values['rank']}, plan {plan.hash}")
    for p in paths:
        click.echo(f"wrote {p}")


@click.command("explain")
@click.argument("intent")
@click.argument("keys", nargs=-1)
@plan_options
def explain_cmd(intent: str, keys: tuple[str, ...], **kw: Any) -> None:
    """Say why each value of INTENT's plan is what it is (all values, or the KEYs given)."""
    plan = make_plan(intent, kw)
    wanted = list(keys) or list(plan.values)
    unknown = [key for key in wanted if key not in plan.values]
    from fluxgen.origin import cites_of
    from fluxgen.rules import SOURCES

    for key in wanted:
        if key in unknown:
            continue
        origin = plan.origins.get(key, "unknown")
        click.echo(f"{key} = {json.dumps(plan.values[key], ensure_ascii=False)}")
        click.echo(f"    ← {origin}")
        cites = cites_of(origin)
        cited = {cite.split(" §")[0] for cite in cites} | {cite.split(":")[0] for cite in cites} | set(cites)
        for name, title in SOURCES.items():
            if name in cited:
                click.echo(f"      {name}: {title}")
    if unknown:  # the others are explained above; each unknown key gets its own line and the exit status says so
        for key in unknown[:-1]:
            click.echo(f"error: {_not_a_value(key, plan)}", err=True)
        raise UserError(_not_a_value(unknown[-1], plan))


def _not_a_value(key: str, plan: Any) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(plan.values), n=1) or difflib.get_close_matches(
        key.rsplit(".", 1)[-1], list(plan.values), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "run `fluxgen explain INTENT` for all keys"
    return f"{key}: not a plan value ({hint})"
