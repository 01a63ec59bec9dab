"""`fluxgen doctor`: can this machine train? Trainer checkouts and pins, their Python, GPU, disk, RAM, HF token.

Figures come from the guides: 24 GB VRAM and 32 GB RAM at least, 64 GB RAM and 50+ GB free disk recommended
(seed:004; seed:002 ran out of RAM at 32 GB while caching latents); sd-scripts trains down to 8-12 GB of VRAM
with block swap, ai-toolkit needs 24 GB (reference user-needs.md §5.1). The token's value is never shown.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fluxgen.backends import BACKENDS

TRAINER_BACKENDS = tuple(BACKENDS)
MIN_VRAM_GB = {"ai-toolkit": 24, "sd-scripts": 8}
MIN_RAM_GB, GOOD_RAM_GB, MIN_DISK_GB = 32, 64, 50


@dataclass
class Check:
    topic: str
    status: str  # ok | warn | fail | info
    detail: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_IMPORT_PROBE = r"""
import importlib, importlib.util, json, sys
failed = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except BaseException as exc:  # an import can raise anything, SystemExit included
        text = str(exc).strip().splitlines()
        failed[name] = type(exc).__name__ + (": " + text[0][:300] if text else "")
facts = {}
torch = sys.modules.get("torch")
if torch is not None:
    facts["torch_cuda"] = getattr(getattr(torch, "version", None), "cuda", None)
    try:
        facts["cuda_available"] = bool(torch.cuda.is_available())
    except Exception:
        facts["cuda_available"] = False
try:
    facts["triton"] = importlib.util.find_spec("triton") is not None
except (ImportError, ValueError):
    facts["triton"] = False
import importlib.metadata as md
facts["versions"] = {}
for dist in ("torch", "torchvision", "torchaudio"):
    try:
        facts["versions"][dist] = md.version(dist)
        facts["versions"][dist + ":requires"] = [r for r in md.requires(dist) or () if r.startswith("torch")]
    except Exception:
        pass
print("\nFLUXGEN-IMPORTS " + json.dumps({"failed": failed, "facts": facts}))
"""
IMPORT_TIMEOUT = 240.0  # seconds: ai-toolkit's imports alone take about 20 s (reference ai-toolkit.md §10)


@dataclass(frozen=True)
class ImportProbe:
    """The modules a Python could not import (with the error), torch's CUDA build and driver, triton."""

    failed: dict[str, str]
    facts: dict[str, Any]
    error: str | None = None


def probe_imports(python: str, modules: tuple[str, ...], timeout: float = IMPORT_TIMEOUT) -> ImportProbe:
    """Import each module for real in that Python (finding a module is not importing it: a broken extension or a
    GPU-only import fails only when run)."""
    import json
    import subprocess

    try:
        done = subprocess.run([python, "-c", _IMPORT_PROBE, json.dumps(list(modules))], capture_output=True,
                              text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return ImportProbe({}, {}, f"importing {', '.join(modules)} took over {timeout:.0f} s")
    except OSError as exc:
        return ImportProbe({}, {}, f"cannot run {python}: {exc}")
    line = next((x for x in reversed(done.stdout.splitlines()) if x.startswith("FLUXGEN-IMPORTS ")), None)
    if line is None:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return ImportProbe({}, {}, f"the import check crashed the interpreter: {last}")
    data = json.loads(line.split(" ", 1)[1])
    return ImportProbe(data["failed"], data["facts"])


def check_backend(backend: str, imports: dict[str, ImportProbe] | None = None) -> list[Check]:
    """Checkout found, commit against the pin, Python found and able to import what the trainer needs.
    `imports`: import probes already made, by Python (one per interpreter when several backends share it)."""
    from fluxgen.checkouts import locate
    from fluxgen.errors import UserError

    try:
        trainer = locate(backend)
    except UserError as exc:  # the user config file is damaged: say so here rather than stop every check
        return [Check("user config", "fail", str(exc).replace("\n", "; "), "fix the file as said, or remove it")]
    checks = [] if trainer.dir is None else _checkout(trainer)
    return checks + _python(trainer, imports)


def _checkout(trainer: Any) -> list[Check]:
    from fluxgen.checkouts import ENV_NAMES, checkout_commit

    var = ENV_NAMES[trainer.backend][0]
    where = f"{trainer.dir} ({trainer.dir_source})"
    if trainer.entry_path is None or not trainer.entry_path.is_file():
        empty = trainer.dir is not None and trainer.dir.is_dir() and not any(trainer.dir.iterdir())
        what = "is an empty folder (submodule not fetched)" if empty else f"has no {trainer.entry}"
        fix = (f"fluxgen setup {trainer.backend} (or fetch it: git submodule update --init {trainer.dir}, or point "
               f"${var} or the user config at a checkout of {trainer.backend})")
        return [Check("checkout", "fail", f"{where} {what}", fix)]
    checks = [Check("checkout", "ok", f"found at {where}")]
    commit = checkout_commit(trainer.dir)
    if commit is None:
        checks.append(Check("commit", "warn", f"unknown (no git metadata in {trainer.dir}); fluxgen is built "
                                              f"against {trainer.pin}", "use a git checkout so runs record its commit"))
    elif commit != trainer.pin:
        checks.append(Check("commit", "warn", f"{commit[:12]} differs from the pin {trainer.pin[:12]}",
                            f"git -C {trainer.dir} checkout {trainer.pin}"))
    else:
        checks.append(Check("commit", "ok", f"{commit[:12]} = the pin"))
    return checks


def _python(trainer: Any, imports: dict[str, ImportProbe] | None) -> list[Check]:
    from fluxgen.checkouts import ENV_NAMES, REQUIRED_MODULES, probe_python

    probe = probe_python(trainer.python, ())
    var = ENV_NAMES.get(trainer.backend, ("the trainer's Python",))[-1]
    if not probe.ok:
        return [Check("python", "fail", probe.error or "cannot run it", f"set ${var} to the Python of the "
                                                                           f"environment {trainer.backend} is installed in")]
    checks = [Check("python", "ok", f"{probe.executable} (Python {probe.python}, {trainer.python_source})")]
    modules = REQUIRED_MODULES[trainer.backend]
    found = (imports or {}).get(trainer.python) or probe_imports(trainer.python, modules)
    where = _install_args(trainer)
    if trainer.dir is not None:  # `fluxgen setup` builds the whole environment with the verified versions
        where += f" (or: fluxgen setup {trainer.backend})"
    failed = {m: why for m, why in found.failed.items() if m in modules}
    if found.error:
        checks.append(Check("imports", "fail", found.error, f"{trainer.python} -m pip install{where}"))
    elif failed:
        checks.append(Check("imports", "fail", _import_failures(failed, found.facts),
                             f"{trainer.python} -m pip install{where}"))
    else:
        checks.append(Check("imports", "ok", f"all {len(modules)} modules it needs import"))
    if "triton" in BACKENDS[trainer.backend].env_recipe().remove_without_gpu and _triton_without_driver(found.facts):
        checks.append(Check("triton", "fail", (
            "torch is a CUDA build, no NVIDIA driver answers and triton is installed: every ai-toolkit run stops "
            "while importing its extensions with `Found no NVIDIA driver on your system` (reference ai-toolkit.md "
            "§0, §10)"), f"{trainer.python} -m pip uninstall -y triton, or install a CPU-only torch build"))
    return checks


def _install_args(trainer: Any) -> str:
    """What `pip install` takes to complete the trainer's environment, as its backend's recipe says."""
    recipe = BACKENDS[trainer.backend].env_recipe()
    if trainer.dir is not None and recipe.requirements:
        return f" -r {trainer.dir}/{recipe.requirements}"
    return f" '{recipe.package}=={recipe.pin}'" if recipe.source == "pypi" else f" '{recipe.package or trainer.backend}'"


def _import_failures(failed: dict[str, str], facts: dict[str, Any] | None = None) -> str:
    """`cannot import a, b (not installed); c fails: RuntimeError: …`; torchvision built for another torch is
    said as that pair and its fix alone (what imports it fails with it)."""
    from fluxgen.envs.pairs import mismatched_pair

    pair = mismatched_pair(failed, (facts or {}).get("versions", {}))
    if pair is not None:
        return pair
    missing = [m for m, why in failed.items() if why.startswith("ModuleNotFoundError")]
    broken = [f"{m} fails: {why}" for m, why in failed.items() if m not in missing]
    parts = ([f"cannot import {', '.join(missing)} (not installed)"] if missing else []) + broken
    return "; ".join(parts)


def _triton_without_driver(facts: dict[str, Any]) -> bool:
    return bool(facts.get("torch_cuda")) and facts.get("cuda_available") is False and bool(facts.get("triton"))


def check_gpu() -> Check:
    from fluxgen.runs.facts import gpu_facts

    gpus = gpu_facts()
    if not gpus:
        return Check("gpu", "warn", "no NVIDIA GPU found (nvidia-smi is missing or lists none)",
                     "train FLUX.1 on a CUDA GPU: 24 GB for ai-toolkit, 8-24 GB for sd-scripts with block swap; on "
                     "a CPU only the builtin trainer with a tiny test model (`fluxgen model tiny`) runs")
    best = max(gpus, key=lambda g: g.get("memory_mib") or 0)
    gb = (best.get("memory_mib") or 0) / 1024
    text = ", ".join(f"{g['name']} {(g.get('memory_mib') or 0) / 1024:.0f} GB" for g in gpus)
    if gb < MIN_VRAM_GB["sd-scripts"]:
        return Check("gpu", "fail", f"{text}: below 8 GB", "use a GPU with at least 8 GB (24 GB for ai-toolkit)")
    if gb < MIN_VRAM_GB["ai-toolkit"]:
        return Check("gpu", "warn", f"{text}: below ai-toolkit's 24 GB",
                     f"plan with --vram {int(gb)} so sd-scripts gets fp8 and block swap, or --backend sd-scripts")
    return Check("gpu", "ok", text)


def check_disk(folder: Path) -> Check:
    probe = Path(folder).resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free / 1024**3
    if free < MIN_DISK_GB:
        return Check("disk", "warn", f"{free:.0f} GB free at {probe}",
                     f"free {MIN_DISK_GB}+ GB: base models, latent caches and checkpoints add up (seed:004)")
    return Check("disk", "ok", f"{free:.0f} GB free at {probe}")


def total_ram_gb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError, AttributeError):
        return None


def check_ram() -> Check:
    gb = total_ram_gb()
    if gb is None:
        return Check("ram", "info", "unknown")
    if gb < MIN_RAM_GB:
        return Check("ram", "warn", f"{gb:.0f} GB: below the 32 GB minimum",
                     "FLUX.1 training wants 32 GB of RAM at least, 64 GB to be safe (seed:004, seed:002); add swap")
    if gb < GOOD_RAM_GB:
        return Check("ram", "info", f"{gb:.0f} GB: enough for most runs; 64 GB is safer when caching latents "
                                    "(seed:002)")
    return Check("ram", "ok", f"{gb:.0f} GB")


def check_token() -> Check:
    from fluxgen.hub import token_source

    source = token_source()
    if source is None:
        return Check("hf token", "warn", "none found ($HF_TOKEN, or the login file)",
                     "FLUX.1-dev is gated: accept its licence at https://huggingface.co/black-forest-labs/FLUX.1-dev "
                     "and set HF_TOKEN to a read token (not needed for local or cached models)")
    return Check("hf token", "ok", f"found in {source} (value not shown)")


def doctor(backends: tuple[str, ...] = TRAINER_BACKENDS, runs_dir: Path = Path("runs")) -> dict[str, Any]:
    """Every check, grouped by backend and system, with the fixes to apply next."""
    imports = _imports_by_python(backends)
    report: dict[str, Any] = {"backends": {b: [c.to_dict() for c in check_backend(b, imports)] for b in backends}}
    report["system"] = [c.to_dict() for c in (check_gpu(), check_disk(runs_dir), check_ram(), check_token())]
    every = [c for checks in report["backends"].values() for c in checks] + report["system"]
    report["next"] = list(dict.fromkeys(c["fix"] for c in every if c["status"] in ("fail", "warn") and c["fix"]))
    report["ready"] = [b for b, checks in report["backends"].items()
                       if not any(c["status"] == "fail" for c in checks)]
    return report


def _imports_by_python(backends: tuple[str, ...]) -> dict[str, ImportProbe]:
    """One import probe per Python, with every module the backends that use it need (imports take seconds)."""
    from fluxgen.checkouts import REQUIRED_MODULES, locate
    from fluxgen.errors import UserError

    wanted: dict[str, list[str]] = {}
    for backend in backends:
        try:
            python = locate(backend).python
        except UserError:
            continue
        wanted.setdefault(python, [])
        wanted[python] += [m for m in REQUIRED_MODULES[backend] if m not in wanted[python]]
    return {python: probe_imports(python, tuple(modules)) for python, modules in wanted.items()}
