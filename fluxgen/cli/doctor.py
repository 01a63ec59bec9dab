"""`fluxgen doctor`: a thin wrapper over fluxgen.doctor."""

from __future__ import annotations

import json
from pathlib import Path

import click

from fluxgen.backends import BACKENDS

MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "info": "info"}


@click.command("doctor")
@click.option("--backend", "backends", multiple=True, type=click.Choice(list(BACKENDS)),
              help="Check only these backends (default: all).")
@click.option("--runs", "runs_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"),
              show_default=True, help="Where runs go (its disk is checked).")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON object.")
def doctor_cmd(backends: tuple[str, ...], runs_dir: Path, as_json: bool) -> None:
    """Check each trainer (checkout, commit vs pin, its Python and imports), the GPU, disk, RAM and the HF token.

    Prints what to do next. Exits 0 whatever it finds; `ready` lists the backends with no failed check.
    """
    from fluxgen.doctor import TRAINER_BACKENDS, doctor

    report = doctor(backends or TRAINER_BACKENDS, runs_dir)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    for backend, checks in report["backends"].items():
        click.echo(f"{backend}:")
        for c in checks:
            click.echo(f"  [{MARKS[c['status']]}] {c['topic']}: {c['detail']}")
    click.echo("system:")
    for c in report["system"]:
        click.echo(f"  [{MARKS[c['status']]}] {c['topic']}: {c['detail']}")
    click.echo("ready: " + (", ".join(report["ready"]) or "none"))
    if report["next"]:
        click.echo("next:")
        for fix in report["next"]:
            click.echo(f"  - {fix}")
