"""Human output for plans: a table of values with their origins, then the advice."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from fluxgen.plan import Plan


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def print_plan(plan: Plan) -> None:
    import shutil

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from fluxgen.plan import HEADLINE

    console = Console(soft_wrap=False, width=max(shutil.get_terminal_size((120, 24)).columns, 100))
    table = Table(title=Text(f"plan {plan.values['name']} · {plan.backend} · {plan.hash}"), show_lines=False)
    table.add_column("key", no_wrap=True)
    table.add_column("value", overflow="fold", max_width=40)
    table.add_column("origin", overflow="fold", style="dim")
    keys = [k for k in HEADLINE if k in plan.values] + [k for k in plan.values if k not in HEADLINE]
    for key in keys:
        # Text(...) so user strings such as "[trigger]" or "[/x]" are shown as they are, never read as markup.
        table.add_row(Text(key), Text(_short(plan.values[key])), Text(plan.origins.get(key, "")))
    console.print(table)
    print_advice(plan)


def print_advice(plan: Plan, err: bool = False) -> None:
    for w in plan.warnings:
        click.echo(f"{w.severity}: {w.message}  [{w.origin}]", err=err)
