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
from typing import TYPE_CHECKING, Any

from fluxgen import __version__
from fluxgen.errors import UserError

if TYPE_CHECKING:
    from fluxgen.plan import Plan

MANIFEST = "manifest.json"


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


# The manifest's keys whose type the commands rely on (null is always allowed: an older or partial record).
_NUMBER = (int, float)
MANIFEST_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str, "backend": str, "plan_hash": str, "status": str, "started": str, "ended": str, "t0": _NUMBER,
    "pid": int, "exit_code": int, "steps": int, "last_step": int, "total": int, "last_loss": _NUMBER,
    "host": dict, "trainer": dict, "dataset": dict, "files": dict, "packages": dict, "diagnosis": dict,
    "intent": dict, "attempts": list, "warnings": list, "checkpoints": list, "samples": list, "gpu": list,
    "final_lora": str,
}


def manifest_problems(data: Any) -> list[str]:
    """What in a manifest is not the shape fluxgen wrote, as `key: expected …, found …`."""
    if not isinstance(data, dict):
        return [f"a JSON {type(data).__name__} instead of an object"]
    problems = []
    for key, want in MANIFEST_TYPES.items():
        value = data.get(key)
        if value is not None and (not isinstance(value, want) or isinstance(value, bool)):
            names = " or ".join(t.__name__ for t in (want if isinstance(want, tuple) else (want,)))
            problems.append(f"{key}: expected {names.replace('dict', 'an object').replace('list', 'a list')}, "
                            f"found {type(value).__name__}")
    for i, attempt in enumerate(data.get("attempts") or [] if isinstance(data.get("attempts"), list) else []):
        if not isinstance(attempt, dict):
            problems.append(f"attempts[{i}]: expected an object, found {type(attempt).__name__}")
    return problems


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The run's manifest, or one line naming what is damaged in it: a command never acts on (or rewrites)
    a record it cannot read as fluxgen wrote it."""
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); the run record is damaged") from None
    problems = manifest_problems(data)
    if problems:
        raise UserError(f"{path}: {problems[0]}; the run record is damaged (restore it from a backup, or start "
                        "again with `fluxgen reproduce` on the run's config file)")
    return data


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


def initial_manifest(plan: Plan, trainer: Any, run_dir: Path, files: list[str]) -> dict[str, Any]:
    """The manifest as the run starts: versions, trainer pin and commit, GPU, dataset, rendered file hashes."""
    from fluxgen.checkouts import KEY_PACKAGES, probe_python, trainer_facts
    from fluxgen.envs.runlock import record_lock

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
        "dataset": _dataset_facts(v),
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


def _dataset_facts(v: dict[str, Any]) -> dict[str, Any]:
    """Path, fingerprint and count; how the captions were made (captions.json) and the masks, when present."""
    from fluxgen.dataset.provenance import caption_provenance

    facts: dict[str, Any] = {"path": v["dataset"], "fingerprint": v.get("fingerprint"), "images": v.get("images")}
    captions = caption_provenance(v["dataset"])
    if captions is not None:
        facts["captions"] = captions
    for key in ("masks", "source_images"):
        if v.get(key) is not None:
            facts[key] = v[key]
    return facts


def _rel(path: Path, run_dir: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(run_dir).resolve()))
    except ValueError:
        return str(path)


def outputs_record(plan: Plan, outputs: Any, run_dir: Path) -> dict[str, Any]:
    """checkpoints, final_lora and samples as the manifest lists them (paths relative to the run folder)."""
    from fluxgen.backends import get_backend
    from fluxgen.backends._common import prompts_with_trigger

    prompts = prompts_with_trigger(plan)
    name = get_backend(plan.backend).sample_name  # (step, prompt index) in a sample's file name
    pattern = re.compile(name) if name else None
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
