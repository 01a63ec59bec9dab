"""The facts a run's manifest records: versions, trainer pin and commit, GPU, dataset, file hashes, outputs.

Gathered here, kept in the typed record of `fluxgen.runs.manifest`. Paths are relative to the run folder.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen import __version__
from fluxgen.fsio import sha256_file
from fluxgen.runs.manifest import RunManifest, now_iso

if TYPE_CHECKING:
    from fluxgen.plan import Plan


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


def initial_manifest(plan: Plan, trainer: Any, run_dir: Path, files: list[str],
                     intent: dict[str, Any] | None = None) -> RunManifest:
    """The manifest as the run starts: versions, trainer pin and commit, GPU, dataset, rendered file hashes, and the
    intent as the user gave it (the key is absent when there is none)."""
    from fluxgen.checkouts import KEY_PACKAGES, probe_python, trainer_facts
    from fluxgen.envs.runlock import record_lock

    probe = probe_python(trainer.python, (), KEY_PACKAGES)
    v = plan.values
    given = {"intent": intent} if intent is not None else {}
    return RunManifest.model_validate({
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
        **given,
        "t0": time.time(),  # events carry seconds since then
    })


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
