"""`fluxgen report RUN`: write a run's report.html and loss.png and say where they are."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("run", type=click.Path(path_type=Path))
def report_cmd(run: Path) -> None:
    """Write RUN/report.html (self-contained: plan, advice, dataset, loss curve, samples, checkpoints,
    command) and RUN/loss.png, replacing earlier ones.

    RUN is a run folder written by `fluxgen train`.
    """
    from fluxgen.report import write_report

    html, png = write_report(run)
    click.echo(str(html))
    click.echo(str(png))
