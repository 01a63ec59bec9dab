"""`fluxgen presets ls | show NAME | cp NAME DEST`."""

from __future__ import annotations

from pathlib import Path

import click

from fluxgen.errors import UserError


def _summary(path: Path) -> str:
    """The first comment line of a preset: what it is for."""
    from fluxgen.schema import MODELINE

    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.lstrip("# ").strip()
        if line.startswith("#") and text and not line.startswith(MODELINE):
            return text
    return ""


@click.group("presets")
def presets_group() -> None:
    """List, show and copy presets (built-in, ./presets, $FLUXGEN_PRESETS, user config dir)."""


@presets_group.command("ls")
def ls_cmd() -> None:
    """List presets: name, where it lives, what it is for."""
    from fluxgen.presets import discover

    found = discover()
    if not found:
        raise UserError("no presets found")
    width = max(len(n) for n in found)
    for name, preset in sorted(found.items(), key=lambda kv: (not kv[1].is_kind, kv[0])):
        where = "kind" if preset.is_kind else ("built-in" if preset.builtin else str(preset.path.parent))
        click.echo(f"{name.ljust(width)}  {where:<9} {_summary(preset.path)}")


@presets_group.command("show")
@click.argument("name")
def show_cmd(name: str) -> None:
    """Print a preset file as it is."""
    from fluxgen.presets import find

    click.echo(find(name).read_text(encoding="utf-8"), nl=False)


@presets_group.command("cp")
@click.argument("name")
@click.argument("dest", type=click.Path())
@click.option("--force", is_flag=True, help="Overwrite DEST if it exists.")
def cp_cmd(name: str, dest: str, force: bool) -> None:
    """Copy a preset to DEST (a file or a folder) to edit it; it keeps extending what it extended."""
    from fluxgen.fsio import atomic_write
    from fluxgen.presets import find

    source = find(name)
    target = Path(dest)
    if target.is_dir():
        target = target / source.name
    text = source.read_text(encoding="utf-8")
    atomic_write(target, _with_schema_line(_rebase_extends(text, source, target)), force=force)
    click.echo(f"copied {name} to {target}")


def _with_schema_line(text: str) -> str:
    """The copy's editor schema line points at the shipped schema by its absolute path (a relative one would not
    resolve from the copy's folder); a preset without one gets one."""
    from fluxgen.paths import BUILTIN_PRESETS_DIR
    from fluxgen.schema import MODELINE, SCHEMA_FILE

    line = f"{MODELINE}{(BUILTIN_PRESETS_DIR / SCHEMA_FILE).resolve().as_uri()}"
    lines = [ln for ln in text.splitlines(keepends=True) if not ln.startswith(MODELINE)]
    return line + "\n" + "".join(lines)


def _rebase_extends(text: str, source: Path, target: Path) -> str:
    """An `extends:` given as a relative path must still point at the same file from the copy's folder."""
    import os
    import re

    def fix(match: re.Match[str]) -> str:
        ref = match.group(2).strip().strip("'\"")
        if not ref.endswith((".yaml", ".yml")):
            return match.group(0)
        absolute = (source.parent / ref).resolve()
        rel = os.path.relpath(absolute, target.resolve().parent)
        return f"{match.group(1)}{rel}"

    return re.sub(r"^(extends:\s*)(.+)$", fix, text, flags=re.M)
