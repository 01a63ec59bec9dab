"""`fluxgen validate`: check a hand-written trainer config or command line before a long run fails on it."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("validate")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--command", "command", metavar="STR", help="An sd-scripts command line to check instead of a file.")
@click.option("--backend", metavar="NAME", help="Force the trainer: ai-toolkit or sd-scripts.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of lines.")
@click.pass_context
def validate_cmd(ctx: click.Context, file: Path | None, command: str | None, backend: str | None,
                 as_json: bool) -> None:
    """Check an ai-toolkit YAML, sd-scripts args/dataset TOML or launch script against what the trainer reads.

    Exit status: 0 when there are no errors (warnings allowed), 1 when there are errors or the file
    cannot be read, 2 on usage errors.

    \b
      fluxgen validate config.yaml
      fluxgen validate dataset.toml --json
      fluxgen validate --command "accelerate launch flux_train_network.py --network_dim 16 ..."
    """
    from fluxgen.validate import validate_file, validate_sd_command

    if (file is None) == (command is None):
        raise click.UsageError("give either a FILE or --command STR")
    if command is not None:
        if backend is not None and backend.strip().lower() not in {"sd-scripts", "sd_scripts", "kohya"}:
            raise click.UsageError("--command checks sd-scripts command lines; drop --backend or use sd-scripts")
        report = validate_sd_command(command)
    else:
        report = validate_file(file, backend)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(report.format_text())
    ctx.exit(0 if report.ok else 1)
