"""`manifest.json`: what ran (versions, trainer commit, GPU, dataset, file hashes) and how it ended.

Written when the run starts (status `running`, with fluxgen's pid so `status` can tell a dead run from a live one)
and rewritten atomically at the end of each attempt. Paths inside are relative to the run folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from fluxgen import __version__
from fluxgen.errors import UserError

MANIFEST = "manifest.json"
# Sample file names -> (step, prompt index): ai-toolkit `<ms>__<step:09d>_<i>.jpg`, sd-scripts
# `<name>_<step:06d>_<ii>_<YYYYmmddHHMMSS>[_<seed>].png`, builtin `<step:09d>_<i>.png`.
SAMPLE_PATTERNS = {
    "ai-toolkit": re.compile(r"__(\d{9})_(\d+)\.\w+$"),
    "sd-scripts": re.compile(r"_(\d{6})_(\d{2})_\d{14}(?:_\d+)?\.\w+$"),
    "builtin": re.compile(r"^(\d{9})_(\d+)\.\w+$"),
}


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); the run record is damaged") from None
    return data if isinstance(data, dict) else {}


def write_manifest(run_dir: Path, data: dict[str, Any]) -> None:
    from fluxgen.fsio import atomic_write

    atomic_write(Path(run_dir) / MANIFEST, json.dumps(data, indent=2, ensure_ascii=False) + "\n", force=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def gpu_facts() -> list[dict[str, Any]]:
    """GPUs as nvidia-smi reports them (name, memory in MiB, driver); empty when there is none."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        done = subprocess.run([exe, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    gpus = []
    for line in done.stdout.strip().splitlines() if done.returncode == 0 else []:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3:
            memory = int(parts[1]) if parts[1].isdigit() else None
            gpus.append({"name": parts[0], "memory_mib": memory, "driver": parts[2]})
    return gpus


def initial_manifest(plan: Any, trainer: Any, run_dir: Path, files: list[str]) -> dict[str, Any]:
    """The manifest as the run starts: versions, trainer pin and commit, GPU, dataset, rendered file hashes."""
    from fluxgen.envs.runlock import record_lock
    from fluxgen.trainers import KEY_PACKAGES, probe_python, trainer_facts

    probe = probe_python(trainer.python, (), KEY_PACKAGES)
    v = plan.values
    return {
        "fluxgen_version": __version__,
        "name": v["name"],
        "backend": plan.backend,
        "plan_hash": plan.hash,
        "trainer": trainer_facts(trainer),
        "python": probe.python or platform.python_version(),
        "python_executable": probe.executable or trainer.python,
        "packages": probe.packages or {},
        "env_lock": record_lock(trainer.python, run_dir),
        "gpu": gpu_facts(),
        "host": {"name": socket.gethostname(), "os": f"{platform.system()} {platform.release()}",
                 "fluxgen_python": sys.version.split()[0]},
        "dataset": {"path": v["dataset"], "fingerprint": v.get("fingerprint"), "images": v.get("images")},
        "files": {name: sha256_file(run_dir / name) for name in sorted(files)},
        "steps": v["steps"],
        "started": now_iso(),
        "ended": None,
        "exit_code": None,
        "status": "running",
        "diagnosis": None,
        "warnings": [],
        "checkpoints": [],
        "final_lora": None,
        "final_lora_sha256": None,
        "samples": [],
        "attempts": [],
        "pid": os.getpid(),
    }


def _rel(path: Path, run_dir: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(run_dir).resolve()))
    except ValueError:
        return str(path)


def outputs_record(plan: Any, outputs: Any, run_dir: Path) -> dict[str, Any]:
    """checkpoints, final_lora and samples as the manifest lists them (paths relative to the run folder)."""
    from fluxgen.backends._common import prompts_with_trigger

    prompts = prompts_with_trigger(plan)
    pattern = SAMPLE_PATTERNS.get(plan.backend)
    samples = []
    for path in outputs.samples:
        m = pattern.search(Path(path).name) if pattern else None
        step, index = (int(m[1]), int(m[2])) if m else (None, None)
        prompt = prompts[index] if index is not None and index < len(prompts) else None
        samples.append({"step": step, "index": index, "path": _rel(path, run_dir), "prompt": prompt})
    # Hashes say which file a checkpoint was when someone shares or compares it (a resume can re-save a name).
    return {
        "checkpoints": [{"step": step, "path": _rel(path, run_dir), "sha256": _hash_or_none(path)}
                        for step, path in sorted(outputs.checkpoints)],
        "final_lora": _rel(outputs.final, run_dir) if outputs.final else None,
        "final_lora_sha256": _hash_or_none(outputs.final) if outputs.final else None,
        "samples": samples,
    }


def _hash_or_none(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:  # removed between listing and hashing (the trainer pruned it)
        return None


def pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def effective_status(manifest: dict[str, Any]) -> str:
    """The manifest's status, except that a `running` run whose fluxgen process is gone is `stale`."""
    status = manifest.get("status") or "unknown"
    if status == "running" and manifest.get("host", {}).get("name") in (None, socket.gethostname()):
        if not pid_alive(manifest.get("pid")):
            return "stale"
    return status
