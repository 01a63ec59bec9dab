"""The SLURM executor, through submitit: one job array (`%max-parallel`), each task running one point with
`fluxgen sweep run-point`. A requeued task (preemption, node failure, `scontrol requeue`) runs the point again,
which resumes its run folder from the last checkpoint. Needs `pip install 'fluxgen[slurm]'`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.runs.sweep.point import point_command

OPTION_NAMES = ("partition", "time", "gres", "cpus", "mem", "account")


def time_minutes(text: str) -> int:
    """`--slurm-time` as SLURM reads it (`M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`), in whole minutes."""
    m = re.fullmatch(r"(?:(\d+)-)?(\d+(?::\d+){0,2})", text.strip())
    if not m:
        raise UserError(f"--slurm-time {text}: expected minutes, H:MM:SS or D-HH:MM:SS (e.g. --slurm-time 4:00:00)")
    parts = [int(x) for x in m.group(2).split(":")]
    if m.group(1) is not None:
        parts = [int(m.group(1)) * 24 + parts[0], *parts[1:]] + [0] * (3 - len(parts))
    else:
        parts = [0] * (3 - len(parts)) + parts if len(parts) == 3 else ([0, parts[0], 0] if len(parts) == 1
                                                                       else [0, *parts])
    hours, minutes, seconds = parts
    return hours * 60 + minutes + (1 if seconds else 0)


def executor_parameters(options: dict[str, Any], max_parallel: int | None, name: str) -> dict[str, Any]:
    """submitit's `update_parameters` keywords for the --slurm-* options."""
    params: dict[str, Any] = {"name": name, "slurm_additional_parameters": {"requeue": True}}
    if max_parallel:
        params["slurm_array_parallelism"] = max_parallel
    mapping = {"partition": "slurm_partition", "gres": "slurm_gres", "mem": "slurm_mem", "account": "slurm_account"}
    for key, param in mapping.items():
        if options.get(key):
            params[param] = options[key]
    if options.get("cpus"):
        params["slurm_cpus_per_task"] = int(options["cpus"])
    limit = options.get("time") or partition_limit(options.get("partition"))
    if limit:
        params["timeout_min"] = time_minutes(limit)
    for item in options.get("extra") or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--slurm-option {item}: expected KEY=VALUE (e.g. --slurm-option qos=high)")
        params["slurm_additional_parameters"][key.strip().replace("-", "_")] = value
    return params


def partition_limit(partition: str | None) -> str | None:
    """The partition's own time limit (sinfo), used when --slurm-time is not given: submitit would otherwise ask
    for 5 minutes. An unlimited partition gets 3 days."""
    if shutil.which("sinfo") is None:
        return None
    out = subprocess.run(["sinfo", "-h", "-o", "%P %l"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        name, _, limit = line.partition(" ")
        if (partition and name.rstrip("*") == partition) or (not partition and name.endswith("*")):
            limit = limit.strip()
            return "3-00:00:00" if limit in ("infinite", "UNLIMITED", "") else limit
    return None


class PointTask:
    """What one array task runs: the point in a child process (so submitit keeps its own signal handling)."""

    def __call__(self, sweep_dir: str, point_id: str) -> int:
        return subprocess.run(point_command(Path(sweep_dir), point_id), check=False).returncode

    def checkpoint(self, sweep_dir: str, point_id: str) -> Any:
        """Preemption or timeout: requeue the same call; the point resumes from its run folder's checkpoint."""
        import submitit

        return submitit.helpers.DelayedSubmission(self, sweep_dir, point_id)


def _submitit() -> Any:
    try:
        import submitit
    except ImportError:
        raise UserError("--executor slurm needs submitit: pip install 'fluxgen[slurm]'") from None
    if shutil.which("sbatch") is None:
        raise UserError("--executor slurm: no sbatch on PATH; run the sweep on a SLURM login node, or use "
                        "--executor local")
    return submitit


def submit(sweep_dir: Path, point_ids: list[str], options: dict[str, Any], max_parallel: int | None) -> dict[str, str]:
    """Submit the points as one array; {point id: SLURM job id}."""
    submitit = _submitit()
    executor = submitit.AutoExecutor(folder=Path(sweep_dir).resolve() / "slurm" / "%j", cluster="slurm")
    executor.update_parameters(**executor_parameters(options, max_parallel, f"fluxgen-{Path(sweep_dir).name}"))
    try:
        jobs = executor.map_array(PointTask(), [str(Path(sweep_dir).resolve())] * len(point_ids), point_ids)
    except Exception as exc:  # noqa: BLE001 - submitit wraps sbatch's refusal; its message is the useful part
        raise UserError(f"sbatch refused the sweep: {str(exc).strip().splitlines()[-1]}") from None
    return {pid: job.job_id for pid, job in zip(point_ids, jobs, strict=True)}


def queue_states(job_ids: list[str]) -> dict[str, str]:
    """SLURM's state of the jobs still known to squeue (a job gone from it has ended)."""
    if not job_ids or shutil.which("squeue") is None:
        return {}
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T", "-j", ",".join(sorted({j.split("_")[0] for j in job_ids}))],
                         capture_output=True, text=True, check=False).stdout
    states = dict(line.split(None, 1) for line in out.splitlines() if " " in line)
    return {j: states[j].strip() for j in job_ids if j in states}


def cancel(job_ids: list[str]) -> None:
    if job_ids:
        subprocess.run(["scancel", *job_ids], check=False, stdout=sys.stderr)
