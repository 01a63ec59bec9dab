"""`fluxgen import`: turn a hand-written trainer config (or an sd-scripts command line) into a fluxgen intent."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("import")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--backend", metavar="NAME", help="The trainer that reads FILES (default: worked out from them).")
@click.option("--command", "command", metavar="STR", help="An sd-scripts command line to import instead of a file.")
@click.option("--out", "out", type=click.Path(path_type=Path), help="Write the intent here (default: print it).")
@click.option("--images", metavar="DIR", help="Use this image folder instead of the one the file names.")
@click.option("--minimal", is_flag=True, help="Leave out values fluxgen's rules would give anyway (plans the "
              "intent, so the image folder must exist).")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def import_cmd(files: tuple[Path, ...], backend: str | None, command: str | None, out: Path | None,
               images: str | None, minimal: bool, force: bool) -> None:
    """Import an ai-toolkit YAML, sd-scripts args/dataset TOML or command line, a builtin train.yaml, or a
    SimpleTuner config.json/config.toml (with its multidatabackend.json) as an intent: every value with the file:line it came from; what no intent key can say goes into the pass-through
    `trainer: {<backend>: ...}` where the trainer's key knowledge accepts it, and the rest (secrets, paths of
    another machine, settings fluxgen writes itself) is listed with the reason.

    Exit status: 0 when written, 1 when a file cannot be read or imported, 2 on usage errors.

    \b
      fluxgen import their.yaml --out i.yaml && fluxgen render i.yaml --backend sd-scripts --out cfg/
      fluxgen import args.toml dataset.toml --minimal --out i.yaml
      fluxgen import --backend sd-scripts --command "accelerate launch flux_train_network.py ..."
      fluxgen import config/config.json --out i.yaml
    """
    from fluxgen.errors import UserError
    from fluxgen.fsio import atomic_write
    from fluxgen.importer import import_files, intent_yaml, minimal_keys, ordered_keys

    if bool(files) == (command is not None):
        raise click.UsageError("give trainer FILES or --command STR (with --backend sd-scripts)")
    if out is not None and out.exists() and not force:
        raise UserError(f"{out}: already exists; pass --force to overwrite it")
    imported = import_files(list(files), backend, command)
    if images is not None:
        imported.override("dataset.path", str(Path(images).expanduser().resolve()), "command line --images")
    keys = minimal_keys(imported) if minimal else ordered_keys(imported)
    text = intent_yaml(imported, keys)
    if out is None:
        click.echo(text, nl=False)
    else:
        atomic_write(out, text, force=force)
    left = f", {len(imported.carried)} carried under trainer.{imported.backend}" if imported.carried else ""
    left += f", {len(imported.unmapped)} settings not carried (listed in its header)" if imported.unmapped else ""
    where = str(out) if out else "the intent"
    click.echo(f"{where}: {len(keys)} values from {', '.join(imported.sources)}{left}", err=True)
