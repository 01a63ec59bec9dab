"""`fluxgen sweep`: a grid of ordinary runs on a local pool, SLURM (submitit) or SkyPilot; status, report, resume,
cancel. Thin wrappers over fluxgen.runs.sweep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from fluxgen.cli.plan import plan_options

EXECUTORS = ("local", "slurm", "skypilot")


class SweepGroup(click.Group):
    """`fluxgen sweep INTENT …` starts a sweep; `fluxgen sweep status|report|resume|cancel DIR` look after one."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["start", *args]
        return super().parse_args(ctx, args)


def _executor_options(func: Any) -> Any:
    decorators = [
        click.option("--executor", type=click.Choice(EXECUTORS), help="Where the points run (default: local; "
                     "resume: the sweep's own)."),
        click.option("--max-parallel", type=click.IntRange(1), help="Points at once (local: default one per GPU, 1 "
                     "on a CPU; slurm: the array's %N)."),
        click.option("--slurm-partition", help="sbatch --partition."),
        click.option("--slurm-time", help="sbatch --time per point (minutes, H:MM:SS or D-HH:MM:SS)."),
        click.option("--slurm-gres", help="sbatch --gres, e.g. gpu:1."),
        click.option("--slurm-cpus", type=click.IntRange(1), help="sbatch --cpus-per-task."),
        click.option("--slurm-mem", help="sbatch --mem, e.g. 64G."),
        click.option("--slurm-account", help="sbatch --account."),
        click.option("--slurm-option", "slurm_extra", multiple=True, metavar="KEY=VALUE",
                     help="Any other sbatch option, e.g. qos=high (repeatable)."),
        click.option("--no-wait", is_flag=True, help="slurm/skypilot: submit and return; `fluxgen sweep status DIR` "
                     "follows the points."),
    ]
    for deco in reversed(decorators):
        func = deco(func)
    return func


def _executor(kw: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The executor record kept in sweep.json: the one given now, else the sweep's own."""
    ex = dict(previous or {"name": "local"})
    if kw.get("executor"):
        ex["name"] = kw["executor"]
    if kw.get("max_parallel"):
        ex["max_parallel"] = kw["max_parallel"]
    slurm = {k: kw.get(f"slurm_{k}") for k in ("partition", "time", "gres", "cpus", "mem", "account")}
    slurm = {k: v for k, v in slurm.items() if v is not None}
    if kw.get("slurm_extra"):
        slurm["extra"] = list(kw["slurm_extra"])
    if slurm:
        ex["slurm"] = {**(ex.get("slurm") or {}), **slurm}
    return ex


def _echo(line: str) -> None:
    click.echo(line, err=True)


def _run_and_judge(sweep_dir: Path, wait: bool) -> None:
    """Run the sweep's unfinished points, print the table, exit 1 when a point did not complete."""
    from fluxgen.errors import Interrupted, TrainerFailed
    from fluxgen.runs.sweep.drive import run_sweep
    from fluxgen.runs.sweep.view import rows, table_lines

    try:
        run_sweep(sweep_dir, _echo, wait=wait)
    except KeyboardInterrupt:
        raise Interrupted(f"sweep stopped; `fluxgen sweep resume {sweep_dir}` continues it") from None
    from fluxgen.runs.sweep.state import read_sweep

    table = rows(sweep_dir, read_sweep(sweep_dir))
    click.echo("\n".join(table_lines(table)))
    if not wait:
        click.echo(f"submitted; follow with `fluxgen sweep status {sweep_dir}`")
        return
    bad = [r for r in table if r["state"] != "completed"]
    click.echo(f"sweep: {sweep_dir} ({len(table) - len(bad)}/{len(table)} points completed)")
    if bad:
        names = ", ".join(f"{r['point']} {r['diagnosis'] or r['state']}" for r in bad)
        raise TrainerFailed(f"{len(bad)} of {len(table)} points did not complete ({names}); fix the cause, then "
                            f"`fluxgen sweep resume {sweep_dir}`")


@click.group("sweep", cls=SweepGroup, context_settings={"help_option_names": ["-h", "--help"]})
def sweep_group() -> None:
    """Train a grid of variants of one intent, each an ordinary run folder, on a local pool, SLURM or SkyPilot.

    \b
    fluxgen sweep cyber-skull --images D --grid train.lr=1e-4,5e-5 --grid network.rank=16,32
    fluxgen sweep status|report|resume|cancel SWEEP_DIR
    The options of a new sweep (`start` is implied): fluxgen sweep start --help
    """


@sweep_group.command("start", hidden=True)
@click.argument("intent", required=False)
@plan_options
@click.option("--grid", "grid", multiple=True, required=True, metavar="KEY=V1,V2",
              help="An intent key and its values (typed like --set); repeat for more keys: every combination runs.")
@_executor_options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="The sweep folder (default "
              "sweeps/<name>-sweep-<timestamp>).")
@click.option("--stall-after", type=click.FloatRange(min=0.1), help="Passed to each run (fluxgen train).")
@click.option("--on-stall", type=click.Choice(["warn", "stop"]), help="Passed to each run.")
@click.option("--grace", type=click.FloatRange(min=0.0), default=10.0, show_default=True, metavar="SECONDS",
              help="After Ctrl-C, how long each trainer may take to stop.")
@click.option("--no-report", is_flag=True, help="No report.html per run.")
@click.option("--download", is_flag=True, help="Let each run fetch hf:// model files (see fluxgen train).")
@click.option("--force", is_flag=True, help="Train even if the dataset lint found errors.")
@click.option("--dry-run", is_flag=True, help="Plan every point and write the sweep folder (skypilot: the task "
              "YAMLs); start nothing.")
def start_cmd(intent: str | None, grid: tuple[str, ...], out: Path | None, dry_run: bool, **kw: Any) -> None:
    """Plan INTENT once per grid point and train every distinct plan."""
    from fluxgen.runs.sweep.create import PLAN_KEYS, create_sweep
    from fluxgen.runs.sweep.drive import preflight

    preflight(kw.get("executor") or "local", dry_run=dry_run)
    plan_kw = {k: kw.get(k) for k in PLAN_KEYS}
    plan_kw.update(sets=list(kw.get("sets") or []), force=kw["force"], download=kw["download"])
    follow = {"stall_after": kw["stall_after"], "on_stall": kw["on_stall"], "grace": kw["grace"],
              "no_report": kw["no_report"]}
    sweep_dir, data = create_sweep(intent, plan_kw, list(grid), _executor(kw), follow, out)
    n, distinct = len(data["points"]), len([p for p in data["points"] if not p["same_as"]])
    click.echo(f"sweep folder: {sweep_dir} ({n} points, {distinct} distinct plans)")
    _dispatch(sweep_dir, data, dry_run=dry_run, wait=not kw["no_wait"])


def _dispatch(sweep_dir: Path, data: dict[str, Any], *, dry_run: bool, wait: bool) -> None:
    if data["executor"]["name"] == "skypilot":
        from fluxgen.runs.sweep.skypilot import launch_sweep

        for line in launch_sweep(sweep_dir, dry_run=dry_run):
            click.echo(line)
        return
    if dry_run:
        from fluxgen.runs.sweep.view import rows, table_lines

        click.echo("\n".join(table_lines(rows(sweep_dir, data))))
        click.echo(f"dry run: nothing started; `fluxgen sweep resume {sweep_dir}` trains it")
        return
    _run_and_judge(sweep_dir, wait)


@sweep_group.command("resume")
@click.argument("sweep_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_executor_options
def resume_cmd(sweep_dir: Path, **kw: Any) -> None:
    """Train the points that have not completed: interrupted ones resume from their last checkpoint."""
    from fluxgen.runs.sweep.state import read_sweep, sweep_lock, write_sweep

    with sweep_lock(sweep_dir):
        data = read_sweep(sweep_dir)
        data["executor"] = _executor(kw, data["executor"])
        write_sweep(sweep_dir, data)
    _dispatch(sweep_dir, data, dry_run=False, wait=not kw["no_wait"])


@sweep_group.command("status")
@click.argument("sweep_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def status_cmd(sweep_dir: Path, as_json: bool) -> None:
    """A table of the points: values, state, step, loss, diagnosis (read live from their run folders)."""
    from fluxgen.runs.sweep.state import read_sweep
    from fluxgen.runs.sweep.view import rows, table_lines

    table = rows(sweep_dir, read_sweep(sweep_dir))
    click.echo(json.dumps(table, indent=2) if as_json else "\n".join(table_lines(table)))


@sweep_group.command("report")
@click.argument("sweep_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def report_cmd(sweep_dir: Path) -> None:
    """One HTML page with the points side by side: loss curves overlaid, final samples, eval results if any."""
    from fluxgen.runs.sweep.report import write_sweep_report

    click.echo(f"report: {write_sweep_report(sweep_dir)}")


@sweep_group.command("cancel")
@click.argument("sweep_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def cancel_cmd(sweep_dir: Path) -> None:
    """Stop every point still running or queued; each run is recorded as interrupted and can be resumed."""
    from fluxgen.runs.sweep.drive import cancel_sweep

    stopped = cancel_sweep(sweep_dir)
    click.echo("\n".join(f"stopped: {s}" for s in stopped) if stopped else "nothing was running")


@sweep_group.command("run-point", hidden=True)
@click.argument("sweep_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("point_id")
def run_point_cmd(sweep_dir: Path, point_id: str) -> None:
    """Train or resume one point (what every executor runs)."""
    from fluxgen.runs.sweep.point import run_point

    raise SystemExit(run_point(sweep_dir, point_id))
