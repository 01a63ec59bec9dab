"""Start, resume, follow and cancel a sweep's points on its executor; the end state of every point."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.runs.sweep.state import (
    DONE,
    point_state,
    read_sweep,
    refresh_states,
    sweep_lock,
    trained,
    write_sweep,
)


def preflight(executor: str, *, dry_run: bool) -> None:
    """What the executor needs, checked before a sweep folder is made for it."""
    if dry_run:
        return
    if executor == "slurm":
        from fluxgen.runs.sweep.slurm import _submitit

        _submitit()
    elif executor == "skypilot":
        from fluxgen.runs.sweep.skypilot import sky_command

        sky_command()


def to_run(sweep_dir: Path, data: dict[str, Any]) -> list[str]:
    """The points that still need training (not completed; a point that has a plan twice trains once)."""
    return [p["id"] for p in trained(data["points"]) if point_state(sweep_dir, p)["state"] != DONE]


def run_sweep(sweep_dir: Path, echo: Callable[[str], None], *, wait: bool = True, poll: float = 2.0) -> dict[str, Any]:
    """Run every unfinished point on the sweep's executor, under the sweep's lock; sweep.json refreshed at the end."""
    sweep_dir = Path(sweep_dir)
    with sweep_lock(sweep_dir):
        data = read_sweep(sweep_dir)
        pending = to_run(sweep_dir, data)
        executor = data["executor"]
        echo(f"sweep {sweep_dir}: {len(data['points'])} points, {len(trained(data['points']))} distinct plans, "
             f"{len(pending)} to train on {executor['name']}")
        if pending and executor["name"] == "local":
            _run_local(sweep_dir, data, pending, echo)
        elif pending and executor["name"] == "slurm":
            _run_slurm(sweep_dir, data, pending, echo, wait=wait, poll=poll)
        data = refresh_states(sweep_dir, read_sweep(sweep_dir))
        write_sweep(sweep_dir, data)
        return data


def _run_local(sweep_dir: Path, data: dict[str, Any], pending: list[str], echo: Callable[[str], None]) -> None:
    from fluxgen.runs.sweep.local import Pool, slots, visible_gpus

    ex = data["executor"]
    devices = ex.get("devices") if ex.get("devices") is not None else visible_gpus()
    pool = Pool(sweep_dir, slots(devices, ex.get("max_parallel")), echo, grace=float(data["follow"].get("grace") or 10))
    pool.run(pending)
    if pool.signals:
        raise KeyboardInterrupt


def _run_slurm(sweep_dir: Path, data: dict[str, Any], pending: list[str], echo: Callable[[str], None], *,
               wait: bool, poll: float) -> None:
    from fluxgen.runs.sweep import slurm

    busy = slurm.queue_states([data["jobs"][p]["job_id"] for p in pending if p in data.get("jobs", {})])
    queued = [p for p in pending if data.get("jobs", {}).get(p, {}).get("job_id") in busy]
    if queued:
        raise UserError(f"{sweep_dir}: points {', '.join(queued)} are still queued or running on SLURM; wait for "
                        f"them or `fluxgen sweep cancel {sweep_dir}` first")
    ex = data["executor"]
    ids = slurm.submit(sweep_dir, pending, ex.get("slurm") or {}, ex.get("max_parallel"))
    for point_id, job_id in ids.items():
        data.setdefault("jobs", {})[point_id] = {"executor": "slurm", "job_id": job_id, "submitted": time.time()}
    write_sweep(sweep_dir, data)
    echo(f"submitted {len(ids)} points as SLURM job array {next(iter(ids.values())).split('_')[0]}")
    if wait:
        _wait_slurm(sweep_dir, ids, echo, poll)


def _wait_slurm(sweep_dir: Path, ids: dict[str, str], echo: Callable[[str], None], poll: float) -> None:
    """Until every task has left the queue; Ctrl-C stops the waiting only, the jobs go on."""
    from fluxgen.runs.sweep import slurm

    data, seen = read_sweep(sweep_dir), {}
    points = {p["id"]: p for p in data["points"]}
    try:
        while True:
            live = slurm.queue_states(list(ids.values()))
            for point_id, job_id in ids.items():
                state = live.get(job_id) or point_state(sweep_dir, points[point_id])["state"]
                if seen.get(point_id) != state:
                    seen[point_id] = state
                    echo(f"{point_id}: {state} (job {job_id})")
            if not live:
                return
            time.sleep(poll)
    except KeyboardInterrupt:
        echo(f"stopped waiting; the jobs go on (`fluxgen sweep status {sweep_dir}`, `fluxgen sweep cancel {sweep_dir}`)")
        raise


def cancel_sweep(sweep_dir: Path) -> list[str]:
    """Stop every point still running: SIGTERM to a local sweep's command (it stops its children), scancel for SLURM
    jobs, `sky jobs cancel` for SkyPilot ones. Returns what was stopped."""
    data = read_sweep(sweep_dir)
    stopped: list[str] = []
    driver = data.get("driver") or {}
    local_host = driver.get("host") == os.uname().nodename
    driver_alive = local_host and _signal(driver.get("pid"), signal.SIGTERM, group=False)
    if driver_alive:
        stopped.append(f"sweep command (pid {driver['pid']}), which stops its points")
    for point_id, job in sorted((data.get("jobs") or {}).items()):
        if driver_alive or job.get("executor") != "local" or "exit_code" in job:
            continue  # a live sweep command passes the signal on; a second one would kill its trainers at once
        if local_host and _signal(job.get("pid"), signal.SIGTERM, group=True):
            stopped.append(f"{point_id} (pid {job['pid']})")
    slurm_ids = {p: j["job_id"] for p, j in (data.get("jobs") or {}).items() if j.get("executor") == "slurm"}
    if slurm_ids:
        from fluxgen.runs.sweep import slurm

        live = slurm.queue_states(list(slurm_ids.values()))
        slurm.cancel(sorted(live))
        stopped += [f"{p} (job {j})" for p, j in sorted(slurm_ids.items()) if j in live]
    for point_id, job in sorted((data.get("jobs") or {}).items()):
        if job.get("executor") == "skypilot" and job.get("job_name"):
            from fluxgen.runs.sweep.skypilot import cancel

            if cancel(job["job_name"]):
                stopped.append(f"{point_id} ({job['job_name']})")
    return stopped


def _signal(pid: Any, sig: int, *, group: bool) -> bool:
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.killpg(pid, sig) if group else os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True

