"""`fluxgen setup BACKEND`: build, check or rebuild a trainer's environment (thin wrapper over fluxgen.envs)."""

from __future__ import annotations

from pathlib import Path

import click


def _with_pairs(values: tuple[str, ...]) -> dict[str, Path]:
    pairs = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise click.BadParameter(f"{value!r}: expected NAME=PATH, e.g. diffusers=./diffusers-c9438378.tar.gz",
                                     param_hint="--with")
        pairs[name.strip()] = Path(path.strip())
    return pairs


@click.command("setup")
@click.argument("backend")
@click.option("--source", help="The trainer's source: a git folder, a git URL or a source tarball (default: the "
                               "vendored submodule, else a clone of the pinned repository).")
@click.option("--python", "python", help="Python interpreter to build the environment on.")
@click.option("--torch", "torch", type=click.Choice(["auto", "cpu", "cu126", "cu128", "cu130"]), default="auto",
              show_default=True, help="torch build: auto reads the driver's CUDA version from nvidia-smi.")
@click.option("--with", "withs", multiple=True, metavar="NAME=PATH",
              help="Install package NAME from a source folder, source tarball or wheel (repeatable).")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path),
              help="Where environments live (default $FLUXGEN_HOME, else the XDG data dir).")
@click.option("--offline", is_flag=True, help="Install only from --wheels and --with; never reach an index.")
@click.option("--wheels", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder of wheels pip may install from.")
@click.option("--check", is_flag=True, help="Compare the environment with its env.lock.json; exit 1 on drift.")
@click.option("--force", is_flag=True, help="Build again even when the environment exists.")
@click.option("--if-missing", is_flag=True, help="Do nothing when a Python for the trainer is already configured "
                                                 "($FLUXGEN_*_PYTHON, the user config) or set up.")
def setup_cmd(backend: str, source: str | None, python: str | None, torch: str, withs: tuple[str, ...],
              home: Path | None, offline: bool, wheels: Path | None, check: bool, force: bool,
              if_missing: bool) -> None:
    """Install BACKEND's trainer at its pin into its own environment, with locked versions, and record the lock.

    \b
    Examples:
      $ fluxgen setup ai-toolkit
      (the vendored submodule or a clone of the pin, torch for this GPU, the verified versions, env.lock.json)
      $ fluxgen setup sd-scripts --source ./sd-scripts-48d368fa.tar.gz
      $ fluxgen setup ai-toolkit --source ./ai-toolkit.tar.gz --with diffusers=./diffusers.tar.gz
      $ fluxgen setup ai-toolkit --check
      (each package that differs from the lock; exit 1 on drift)
    """
    from fluxgen.envs.present import check_env, configured, run_setup

    if if_missing and (where := configured(backend)):
        click.echo(f"{backend}: uses {where}; nothing to set up")
        return
    if check:
        raise SystemExit(check_env(backend, home))
    run_setup(backend, source=source, python=python, torch=torch, withs=_with_pairs(withs), home=home,
              offline=offline, wheels=wheels, force=force)
