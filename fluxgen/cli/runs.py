"""`fluxgen runs`, `status`, `diff`: read run folders back (thin wrappers over fluxgen.runs)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

RUNS_OPTION = click.option("--runs", "runs_dir", type=click.Path(file_okay=False, path_type=Path),
                           default=Path("runs"), show_default=True, help="Folder that holds the run folders.")


def _fmt(value: Any, width: int = 48) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


@click.command("runs")
@RUNS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the runs as a JSON list.")
def runs_cmd(runs_dir: Path, as_json: bool) -> None:
    """List the runs under --runs: name, backend, status, step/total, last loss, age."""
    from fluxgen.runs.listing import age, list_runs

    rows = list_runs(runs_dir)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo(f"no runs in {runs_dir}")
        return
    table = [("run", "backend", "status", "step", "loss", "age")]
    for r in rows:
        step = f"{_fmt(r.step)}/{_fmt(r.total)}"
        table.append((r.dir.name, r.backend or "-", r.status, step, _fmt(r.loss), age(r.started)))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@click.command("status")
@click.argument("run")
@RUNS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the state as one JSON object.")
def status_cmd(run: str, runs_dir: Path, as_json: bool) -> None:
    """Show RUN's state and diagnosis (a run folder, or its name under --runs); works while it runs."""
    from fluxgen.monitor.follow import format_duration
    from fluxgen.runs.folder import find_run
    from fluxgen.runs.listing import run_status

    state = run_status(find_run(run, runs_dir))
    if as_json:
        click.echo(json.dumps(state, indent=2, ensure_ascii=False, default=str))
        return
    p = state["progress"]
    click.echo(f"run: {state['run']}")
    click.echo(f"backend: {state['backend']}   status: {state['status']}   attempts: {len(state['attempts'])}")
    line = f"step {_fmt(p['step'])}/{_fmt(p['total'])}"
    for label, key in (("loss (smoothed)", "loss_ema"), ("lr", "lr"), ("s/it", "seconds_per_it")):
        if p.get(key) is not None:
            line += f"   {label} {_fmt(p[key])}"
    if p.get("eta_seconds") is not None:
        line += f"   ETA {format_duration(p['eta_seconds'])}"
    click.echo(line)
    if state["seconds_since_output"] is not None:
        click.echo(f"last trainer event: {format_duration(state['seconds_since_output'])} ago")
    if state["checkpoints"]:
        last = state["checkpoints"][-1]
        click.echo(f"checkpoints: {len(state['checkpoints'])}, last step {last['step']}: {last['path']}")
    if state["final_lora"]:
        click.echo(f"final LoRA: {state['final_lora']}")
    for w in state["warnings"]:
        click.echo(f"warning: {w.get('message')}")
    d = state["diagnosis"]
    if d:
        click.echo(f"diagnosis ({d['code']}): {d['message']}")
        click.echo(f"  fix: {d['fix']}")
    if state["status"] == "stale" and state.get("left_trainer"):
        pgid = state["left_trainer"]
        click.echo(f"the fluxgen process that ran it is gone, but its trainer still runs (process group {pgid}); "
                   f"end it with `kill -TERM -- -{pgid}`, then `fluxgen resume` continues the run")
    elif state["status"] == "stale":
        click.echo("the fluxgen process that ran it is gone; `fluxgen resume` continues it")


@click.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as one JSON object.")
def diff_cmd(a: str, b: str, as_json: bool) -> None:
    """Show what differs between two runs or two configs (run folders, plan.json, or rendered files), value by
    value, with where each side's value came from. Exit 0 whether or not they differ."""
    from fluxgen.runs.diff import diff, to_dict

    d = diff(a, b)
    if as_json:
        click.echo(json.dumps(to_dict(d), indent=2, ensure_ascii=False, default=str))
        return
    click.echo(f"A: {d.a.label}\nB: {d.b.label}")
    for note in (d.a.note, d.b.note):
        if note:
            click.echo(f"note: {note}", err=True)
    if d.same:
        click.echo("no differences")
        return
    for r in d.values:
        click.echo(f"{r.key}:")
        click.echo(f"  A {_fmt(r.a, 60)}   ← {r.a_origin or '-'}")
        click.echo(f"  B {_fmt(r.b, 60)}   ← {r.b_origin or '-'}")
    for r in d.facts:
        click.echo(f"{r.key}: A {_fmt(r.a)}  B {_fmt(r.b)}")
    if d.files:
        click.echo("rendered files that differ: " + ", ".join(d.files))
    if d.packages:
        click.echo(f"packages that differ ({len(d.packages)}):")
    for c in d.packages:
        click.echo(f"  {c.name}: A {c.a or '-'}  B {c.b or '-'}")
