"""The SkyPilot executor: one task YAML per point (accelerators from the plan's VRAM tier, the dataset as a file
mount, the sweep staged into a bucket the run folders are written back to), launched as SkyPilot managed jobs
with the `sky` command. SkyPilot pins click<8.2, which fluxgen's hub client cannot use, so it lives in its own
environment (`pipx install skypilot`); fluxgen only writes YAML and runs `sky`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from fluxgen.errors import UserError
from fluxgen.fsio import atomic_write
from fluxgen.runs.sweep.state import read_sweep, trained, write_sweep

REMOTE = "/fluxgen/sweep"  # the staged sweep (a bucket mount): sweep.json, the intent, runs/<point>/
DATA = "/fluxgen/data"
# GPUs SkyPilot knows on RunPod, Vast, Lambda and the big clouds, by the VRAM tier they satisfy (GB), cheapest
# first: a tier accepts any GPU with at least that much memory.
GPUS_BY_MEMORY = {16: ("T4", "A4000"), 24: ("L4", "A10G", "RTX4090", "RTX3090"), 48: ("L40S", "A6000", "L40"),
                  80: ("A100-80GB", "H100")}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (setup:, run:) as literal blocks, the way SkyPilot's own examples read."""


_Dumper.add_representer(str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|" if "\n" in v
                                                             else None))


def accelerators(vram_tier: int) -> list[str]:
    """Candidate GPUs (any of, in order of preference) for a plan's VRAM tier."""
    fitting = [gpu for memory, gpus in sorted(GPUS_BY_MEMORY.items()) if memory >= vram_tier for gpu in gpus]
    return [f"{gpu}:1" for gpu in fitting[:6]]


def bucket_name(sweep_dir: Path) -> str:
    """Bucket names allow lower-case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9-]+", "-", f"fluxgen-{Path(sweep_dir).resolve().name}".lower()).strip("-")[:63]


def stage(sweep_dir: Path, data: dict[str, Any]) -> Path:
    """The sweep as the remote machine sees it: paths rewritten to the mounts, the intent file copied in."""
    staged = Path(sweep_dir) / "sky" / "stage"
    staged.mkdir(parents=True, exist_ok=True)
    remote = json.loads(json.dumps(data))
    remote.update(cwd=REMOTE, jobs={})
    remote["plan"]["images"] = DATA
    intent = data.get("intent")
    if intent and Path(data["cwd"], intent).is_file():
        shutil.copyfile(Path(data["cwd"], intent), staged / "intent.yaml")
        remote["intent"] = "intent.yaml"
    write_sweep(staged, remote)
    return staged


def task(sweep_dir: Path, data: dict[str, Any], point: dict[str, Any], staged: Path) -> dict[str, Any]:
    from fluxgen import __version__

    images = Path(data["cwd"], data["plan"]["images"] or point["dataset"]).resolve()
    backend = data["backend"]
    setup = [f"pip install 'fluxgen[train]=={__version__}'"]
    from fluxgen.backends import get_backend

    if get_backend(backend).env_recipe().source != "self":  # a trainer of its own: its environment first
        setup.append(f"fluxgen setup {backend}")
    return {
        "name": f"{bucket_name(sweep_dir)}-{point['id']}",
        "resources": {"accelerators": accelerators(int(point.get("vram_tier") or 24)), "disk_size": 200},
        "envs": {"HF_HUB_ENABLE_HF_TRANSFER": "0"},
        "file_mounts": {DATA: str(images),
                        REMOTE: {"name": bucket_name(sweep_dir), "source": str(staged.resolve()), "mode": "MOUNT"}},
        "setup": "\n".join(setup) + "\n",
        "run": f"fluxgen sweep run-point {REMOTE} {point['id']}\n",
    }


def write_tasks(sweep_dir: Path, data: dict[str, Any]) -> list[Path]:
    """One `sky/<point>.yaml` per distinct plan, each read back and compared before it is written."""
    staged = stage(sweep_dir, data)
    paths = []
    for point in trained(data["points"]):
        spec = task(sweep_dir, data, point, staged)
        values = " ".join(f"{k}={v}" for k, v in point["values"].items())
        text = f"# fluxgen sweep {Path(sweep_dir).name}, point {point['id']}: {values}\n"
        text += yaml.dump(spec, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
        if yaml.safe_load(text) != spec:
            raise UserError(f"{point['id']}: the SkyPilot task did not read back as written")
        path = Path(sweep_dir) / "sky" / f"{point['id']}.yaml"
        atomic_write(path, text, force=True)
        paths.append(path)
    return paths


def launch_sweep(sweep_dir: Path, *, dry_run: bool) -> list[str]:
    """Write the task YAMLs; unless --dry-run, launch each as a managed job (`sky jobs launch --async`)."""
    data = read_sweep(sweep_dir)
    paths = write_tasks(sweep_dir, data)
    lines = [f"wrote {p}" for p in paths]
    if dry_run:
        return [*lines, f"dry run: launch one with `sky jobs launch {paths[0]}`" if paths else "nothing to launch"]
    sky = sky_command()
    for path in paths:
        name = yaml.safe_load(path.read_text(encoding="utf-8"))["name"]
        done = subprocess.run([sky, "jobs", "launch", "-y", "--async", "-n", name, str(path)], check=False)
        if done.returncode != 0:
            raise UserError(f"sky jobs launch {path} failed (exit {done.returncode}); `sky check` says what is "
                            "missing")
        data.setdefault("jobs", {})[path.stem] = {"executor": "skypilot", "job_name": name}
        write_sweep(sweep_dir, data)
        lines.append(f"{path.stem}: launched as managed job {name}")
    return lines


def sky_command() -> str:
    sky = shutil.which("sky")
    if sky is None:
        raise UserError("--executor skypilot: no `sky` command; install SkyPilot in its own environment (pipx "
                        "install 'skypilot[runpod,vast]'), run `sky check`, or use --dry-run to write the YAMLs only")
    return sky


def cancel(job_name: str) -> bool:
    sky = shutil.which("sky")
    return sky is not None and subprocess.run([sky, "jobs", "cancel", "-y", "-n", job_name], check=False).returncode == 0
