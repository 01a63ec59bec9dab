"""`fluxgen schema`: the intent's JSON Schema, for editors and other tools."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("schema")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the schema to this file instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def schema_cmd(out: str | None, force: bool) -> None:
    """Write the intent's JSON Schema: every key with its description, type and choices, and each trainer's
    pass-through keys under `trainer`. Point an editor at it with a first line
    `# yaml-language-server: $schema=PATH` (the shipped presets carry one)."""
    from fluxgen.fsio import atomic_write
    from fluxgen.schema import schema_text

    text = schema_text()
    if out is None:
        click.echo(text, nl=False)
        return
    atomic_write(Path(out), text, force=force)
    click.echo(f"wrote {out}")
