"""`fluxgen train`, `resume`, `reproduce`: thin wrappers over fluxgen.runs.session."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fluxgen.cli.plan import make_plan, plan_options

if TYPE_CHECKING:
    from fluxgen.plan import Plan


def follow_options(func: Any) -> Any:
    """Options every command that runs a trainer shares."""
    decorators = [
        click.option("--runs", "runs_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"),
                     show_default=True, help="Folder that holds the run folders."),
        click.option("--stall-after", type=click.FloatRange(min=0.1), default=600.0, show_default=True,
                     metavar="SECONDS", help="Warn when training makes no progress for this long."),
        click.option("--on-stall", type=click.Choice(["warn", "stop"]), default="warn", show_default=True,
                     help="What to do on a stall: warn and keep waiting, or stop the trainer (the run fails)."),
        click.option("--slowdown-factor", type=click.FloatRange(min=1.0), default=3.0, show_default=True,
                     help="Warn when s/it reaches this many times the run's own baseline."),
        click.option("--grace", type=click.FloatRange(min=0.0), default=10.0, show_default=True, metavar="SECONDS",
                     help="After Ctrl-C / SIGTERM, how long the trainer may take to stop before it is killed."),
        click.option("--no-report", is_flag=True, help="Do not write report.html at the end."),
    ]
    for deco in reversed(decorators):
        func = deco(func)
    return func


DOWNLOAD = click.option("--download", is_flag=True, help="Fetch hf:// model files missing from the Hugging Face cache "
                        "(gated FLUX.1-dev needs HF_TOKEN); without it nothing is downloaded.")


def _options(kw: dict[str, Any], force: bool = False) -> Any:
    from fluxgen.runs.attempt import FollowOptions
    from fluxgen.runs.session import TrainOptions

    follow = FollowOptions(stall_after=kw["stall_after"], slowdown_factor=kw["slowdown_factor"],
                           on_stall=kw["on_stall"], grace=kw["grace"])
    return TrainOptions(runs_dir=kw["runs_dir"], download=kw.get("download", False), force=force,
                        report=not kw["no_report"], follow=follow, announce=_announce)


def _announce(run_dir: Path, what: str) -> None:
    click.echo(f"run folder: {run_dir}")
    click.echo(f"{what}: following the trainer (`fluxgen status {run_dir}` from another terminal)")


def _intent(ref: str | None, options: Any, command: str) -> Any:
    """The intent as given (intent.yaml) and the command-line overrides recorded beside it."""
    from fluxgen.runs.folder import given_intent

    return given_intent(ref, options.overrides(), command)


def _plan_options(kw: dict[str, Any]) -> Any:
    """The plan options `make_plan` applies, as PlanOptions (their overrides are recorded with the run)."""
    from fluxgen.plan import PlanOptions

    return PlanOptions.from_cli(kw)


def _given(command: str, args: list[Any], kw: dict[str, Any], names: tuple[str, ...]) -> str:
    """The command line as the user gave it (the options that were set), recorded in the manifest."""
    parts = ["fluxgen", command, *[str(a) for a in args if a]]
    for name in names:
        value = kw.get(name)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item not in (None, False):
                flag = "--set" if name == "sets" else f"--{name.replace('_', '-')}"
                parts += [flag] if item is True else [flag, str(item)]
    return shlex.join(parts)


def _dry_run(plan: Plan, runs_dir: Path, force: bool) -> None:
    from fluxgen.runs.session import dry_run

    info = dry_run(plan, runs_dir, force)
    launch = info["launch"]
    click.echo(f"run folder: {info['run_dir']}/ (not created)")
    click.echo(f"cwd: {launch.cwd}")
    click.echo("env: " + " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(launch.env.items())))
    click.echo(f"command: {shlex.join(launch.argv)}")
    click.echo(f"trainer: {info['trainer'].dir or 'fluxgen builtin'} ({info['trainer'].dir_source}), "
               f"python {info['trainer'].python} ({info['trainer'].python_source})")
    for key, ref in info["unresolved"].items():
        click.echo(f"note: {key} = {ref} is not in the Hugging Face cache; train needs --download or a local file",
                   err=True)


def _finish(result: Any) -> None:
    """Print how the run ended; a failure or an interruption ends the command with its error line."""
    from fluxgen.errors import Interrupted, TrainerFailed

    s, run_dir = result.attempt.summary, result.run_dir
    steps = f"{s.last_step if s.last_step is not None else '-'}/{s.total or '-'} steps"
    loss = f", loss {s.last_loss:.4g}" if s.last_loss is not None else ""
    click.echo(f"run folder: {run_dir}")
    click.echo(f"status: {s.status} ({steps}{loss})")
    final = result.manifest.final_lora
    if final:
        click.echo(f"final LoRA: {run_dir / final}")
    checkpoints = result.manifest.checkpoints
    if checkpoints:
        click.echo(f"checkpoints: {len(checkpoints)}, last step {checkpoints[-1]['step']}: "
                   f"{run_dir / checkpoints[-1]['path']}")
    if result.report:
        click.echo(f"report: {result.report}")
    elif result.report_error:
        click.echo(f"warning: no report ({result.report_error})", err=True)
    if s.status == "completed":
        return
    d = s.diagnosis
    message = f"{d.message} {d.fix}" if d else f"the run ended as {s.status}"
    raise Interrupted(message) if s.status == "interrupted" else TrainerFailed(message)


@click.command("train")
@click.argument("intent", required=False)
@plan_options
@follow_options
@DOWNLOAD
@click.option("--dry-run", is_flag=True, help="Print the command, environment and run folder; start nothing.")
@click.option("--force", is_flag=True, help="Train even if the dataset lint found errors.")
@click.option("--gpus", type=click.IntRange(1), default=1, show_default=True,
              help="Data parallel over N GPUs of this machine (sd-scripts, builtin); steps are divided by N.")
def train_cmd(intent: str | None, dry_run: bool, force: bool, gpus: int, **kw: Any) -> None:
    """Plan INTENT, render it into a new run folder, launch the trainer and follow it to the end.

    \b
    The run folder (runs/<name>-<timestamp>/ under --runs) records the intent, the plan, the rendered files,
    the command, versions, the log, events and metrics; `fluxgen status RUN` reads it while it runs.
    Exit status: 0 completed, 1 failed (with the diagnosis and its fix), 130 interrupted.
    """
    from fluxgen.cli.show import print_advice
    from fluxgen.multigpu import for_gpus
    from fluxgen.runs.session import prepare, start_run

    plan = for_gpus(make_plan(intent, kw), gpus)
    print_advice(plan, err=True)
    if dry_run:
        _dry_run(plan, kw["runs_dir"], force)
        return
    plan = prepare(plan, download=kw["download"])
    names = ("images", "trigger", "kind", "rank", "steps", "backend", "vram", "sets", "gpus")
    given = _intent(intent, _plan_options(kw), _given("train", [intent], {**kw, "gpus": gpus if gpus > 1 else None}, names))
    result = start_run(plan, _options(kw, force), given=given)
    _finish(result)


@click.command("resume")
@click.argument("run")
@follow_options
def resume_cmd(run: str, **kw: Any) -> None:
    """Continue RUN (a run folder, or its name under --runs) from its last valid checkpoint, as a new attempt.

    ai-toolkit resumes by itself from its newest checkpoint (fluxgen checks the log for the step); sd-scripts
    continues from its newest --save_state folder; broken checkpoints are set aside in fluxgen-skipped/.
    """
    from fluxgen.runs.folder import find_run
    from fluxgen.runs.session import resume_run

    _finish(resume_run(find_run(run, kw["runs_dir"]), _options(kw)))


@click.command("reproduce")
@click.argument("source", metavar="RUN_DIR|CONFIG_FILE")
@click.option("--images", type=click.Path(), help="Your copy of their dataset (overrides its path).")
@click.option("--model", help="Your copy of the base model: a diffusers folder, or the transformer file.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Any intent key, e.g. train.workers=1.")
@follow_options
@DOWNLOAD
@click.option("--dry-run", is_flag=True, help="Say what differs and print the command; start nothing.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: print the differences as JSON.")
@click.option("--setup", "setup_env", is_flag=True, help="First build the trainer's environment from the run's "
              "env.lock.json (every package at its version).")
@click.option("--source", "trainer_source", help="With --setup: the trainer's source (git folder, URL, tarball).")
@click.option("--with", "withs", multiple=True, metavar="NAME=PATH", help="With --setup: a package from a path.")
def reproduce_cmd(source: str, images: str | None, model: str | None, sets: tuple[str, ...], dry_run: bool,
                  as_json: bool, setup_env: bool, trainer_source: str | None, withs: tuple[str, ...],
                  **kw: Any) -> None:
    """Train again what a run folder or one generated config file describes, as a new run.

    The config's header carries the intent; fluxgen plans it again (with --images / --model mapped to your
    paths), says what differs from their run (dataset fingerprint, trainer commit, fluxgen version), renders the
    same files and trains them. Reproducing twice renders byte-identical files.
    """
    from fluxgen.runs.reproduce import differences, plan_reproduction, read_source
    from fluxgen.runs.session import prepare, start_run

    src = read_source(source)
    if setup_env:
        from fluxgen.cli.setup import _with_pairs
        from fluxgen.runs.reproduce import setup_from_lock

        setup_from_lock(src, src=trainer_source, withs=_with_pairs(withs))
    plan = plan_reproduction(src, images=images, model=model, sets=sets)
    notes = differences(src, plan)
    if dry_run and as_json:
        click.echo(json.dumps({"source": str(src.config), "differences": notes, "plan_hash": plan.hash}, indent=2))
        return
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if dry_run:
        _dry_run(plan, kw["runs_dir"], kw.get("force", False))
        return
    plan = prepare(plan, download=kw["download"])
    from fluxgen.plan import PlanOptions
    from fluxgen.runs.reproduce import model_override

    command = _given("reproduce", [source], {"images": images, "model": model, "sets": sets}, ("images", "model", "sets"))
    options = PlanOptions(images=images, sets=[*model_override(model), *sets])
    _finish(start_run(plan, _options(kw), given=_intent(str(src.config), options, command)))
