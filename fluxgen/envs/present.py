"""What `fluxgen setup` shows: a progress bar over the steps with pip's latest line, the summary, the drift report."""

from __future__ import annotations

import time
from pathlib import Path

import click

from fluxgen.envs import home as homes
from fluxgen.envs.build import STEP_TITLES, STEPS, Request, setup
from fluxgen.errors import Interrupted, UserError


def run_setup(backend: str, *, source: str | None, python: str | None, torch: str, withs: dict[str, Path],
              home: Path | None, offline: bool, wheels: Path | None, force: bool,
              constraints: Path | None = None) -> homes.SetupEnv:
    """Build the environment unless a finished one exists (or --force), with progress on stderr."""
    from fluxgen.backends import canonical_name
    from fluxgen.envs.recipes import recipe_for

    name = canonical_name(backend)
    recipe = recipe_for(name)
    root = homes.fluxgen_home(home)
    existing = homes.find_env(name, recipe.pin, root)
    if existing is not None and not force:
        click.echo(f"{name} is set up at {existing.root} (lock {existing.lock()['hash'][:19]}); `fluxgen setup "
                   f"{name} --check` compares it with its lock, --force builds it again")
        return existing
    req = Request(name, recipe, root, source, python, torch, withs, wheels, offline, constraints)
    result = _with_progress(req)
    lock = result.lock
    size = _du(result.env.root.resolve())
    torch_build = f"torch {lock['torch'].get('version')} (CUDA {lock['torch'].get('cuda') or 'none'})"
    click.echo(f"{name} @ {recipe.pin[:8]} ready in {result.seconds:.0f} s, {size / 1024**3:.1f} GB: "
               f"{result.env.root}")
    click.echo(f"  python {lock['python']['version']}, {torch_build}, {len(lock['packages'])} packages, "
               f"lock {lock['hash'][:19]}")
    if lock.get("removed_without_gpu"):
        click.echo(f"  removed without a GPU: {', '.join(lock['removed_without_gpu'])}")
    if result.resumed:
        click.echo(f"  continued an interrupted build (already done: {', '.join(result.resumed)})")
    return result.env


def configured(backend: str) -> str | None:
    """Where the trainer's Python comes from when something other than the fallback (fluxgen's own) provides it."""
    from fluxgen.backends import canonical_name, get_backend
    from fluxgen.checkouts import locate

    name = canonical_name(backend)
    if get_backend(name).env_recipe().source == "self":
        return "fluxgen's own Python"
    trainer = locate(name)
    return None if trainer.python_source == "the current Python" else f"{trainer.python} ({trainer.python_source})"


def _with_progress(req: Request):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description:<20}"), BarColumn(bar_width=24),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), TimeRemainingColumn(),
               TextColumn("[dim]{task.fields[line]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("setup", total=len(STEPS), line="")
        last = {"step": None, "at": 0.0}

        def report(step: str, line: str) -> None:
            if step != last["step"]:
                progress.update(task, completed=STEPS.index(step), description=STEP_TITLES[step], line="")
                last["step"] = step
            if line and time.monotonic() - last["at"] > 0.2:
                progress.update(task, line=line[:70])
                last["at"] = time.monotonic()

        try:
            result = setup(req, report)
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted during {STEP_TITLES.get(last['step'] or '', 'setup')}; the previous "
                              f"environment is unchanged; run the same command again to continue") from None
        progress.update(task, completed=len(STEPS), description="done", line="")
    return result


def _du(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:
            pass
    return total


def check_env(backend: str, home: Path | None) -> int:
    """Print how the environment differs from its lock; 0 when it matches, 1 on drift."""
    from fluxgen.backends import canonical_name
    from fluxgen.envs.drift import drift
    from fluxgen.envs.recipes import recipe_for

    name = canonical_name(backend)
    recipe = recipe_for(name)
    env = homes.find_env(name, recipe.pin, homes.fluxgen_home(home))
    if env is None:
        raise UserError(f"{name} is not set up under {homes.fluxgen_home(home)}; run `fluxgen setup {name}`")
    changes = drift(env)
    broken = import_failure(env, recipe.required_modules)
    if not changes and broken is None:
        click.echo(f"{name}: matches its lock ({env.lock()['hash'][:19]}, {len(env.lock()['packages'])} packages)")
        return 0
    if changes:
        click.echo(f"{name}: {len(changes)} difference(s) from {env.lock_path}:")
        for change in changes:
            click.echo("  " + change.describe())
    if broken is not None:
        click.echo(f"{name}: cannot start: {broken}")
    click.echo(f"`fluxgen setup {name} --force` rebuilds it from fluxgen's constraints")
    return 1


def import_failure(env: homes.SetupEnv, modules: tuple[str, ...]) -> str | None:
    """Why the environment's Python cannot import what the trainer imports at start, None when it can: a lock
    matched by a set of packages that never worked together (torchvision built for another torch) is no proof."""
    from fluxgen.doctor import _import_failures, probe_imports

    if not modules:
        return None
    probe = probe_imports(str(env.python), modules)
    if probe.error:
        return probe.error
    return _import_failures(probe.failed, probe.facts) if probe.failed else None

