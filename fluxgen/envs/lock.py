"""`env.lock.json`: what an environment is (Python, platform, torch build, trainer commit, every package), hashed so
two runs can say in one value whether they ran in the same environment, and compared package by package when not."""

from __future__ import annotations

import hashlib
import json
import platform
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen import __version__
from fluxgen.errors import UserError

FORMAT = 1
_FACTS = r"""
import json, platform, sys
try:
    import torch
    t = {"version": torch.__version__, "cuda": torch.version.cuda}
except Exception as exc:
    t = {"version": None, "cuda": None, "error": type(exc).__name__}
print(json.dumps({"python": platform.python_version(), "implementation": platform.python_implementation(),
                  "libc": "-".join(platform.libc_ver()), "torch": t}))
"""


_PACKAGES = r"""
import importlib.metadata as md, json
print(json.dumps({d.metadata["Name"]: d.version for d in md.distributions() if d.metadata["Name"]}))
"""


def freeze(python: Path | str) -> list[str]:
    """`pip freeze --all` of an environment, sorted (kept in the lock as pip says it, paths included)."""
    done = subprocess.run([str(python), "-I", "-m", "pip", "freeze", "--all"], capture_output=True, text=True,
                          check=False, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise UserError(f"{python}: pip freeze failed ({(done.stderr.strip().splitlines() or ['?'])[-1]})")
    return sorted((x for x in done.stdout.splitlines() if x.strip() and not x.startswith("#")), key=str.lower)


def installed(python: Path | str) -> dict[str, str]:
    """{normalised name: version} of every distribution in an environment: what locks are hashed and compared
    on (a freeze line can carry the path a package was installed from, which says nothing of its content)."""
    done = subprocess.run([str(python), "-I", "-c", _PACKAGES], capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise UserError(f"cannot run {python} ({(done.stderr.strip().splitlines() or ['?'])[-1]})")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return {norm(k): v for k, v in sorted(data.items(), key=lambda kv: norm(kv[0]))}


def norm(name: str) -> str:
    """A distribution name as PEP 503 compares them (`Jinja2`, `jinja2` and `jinja_2` are one package)."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def make_lock(python: Path, backend: str, pin: str, source: dict[str, Any], torch_tag: str) -> dict[str, Any]:
    """The lock of a finished environment (its content hashed; paths and dates left out of the hash)."""
    done = subprocess.run([str(python), "-I", "-c", _FACTS], capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)
    facts = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}
    lock = {
        "format": FORMAT, "backend": backend, "pin": pin,
        "trainer": {"commit": source.get("commit"), "source": source.get("kind"), "origin": source.get("origin"),
                    "verified": source.get("verified")},
        "python": {"version": facts.get("python"), "implementation": facts.get("implementation"),
                   "executable": str(python)},
        "platform": {"system": platform.system(), "machine": platform.machine(), "libc": facts.get("libc")},
        "torch": {**facts.get("torch", {}), "requested": torch_tag},
        "packages": installed(python),
        "freeze": freeze(python),
        "fluxgen_version": __version__,
    }
    lock["hash"] = lock_hash(lock)
    return lock


def lock_hash(lock: dict[str, Any]) -> str:
    """sha256 over what makes two environments the same: Python, platform, torch build, commit, every package."""
    content = {"python": (lock.get("python") or {}).get("version"),
               "platform": {k: v for k, v in (lock.get("platform") or {}).items()},
               "torch": {k: (lock.get("torch") or {}).get(k) for k in ("version", "cuda")},
               "commit": (lock.get("trainer") or {}).get("commit"),
               "packages": lock.get("packages") or {}}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def read_lock(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable env.lock.json ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("packages"), dict):
        raise UserError(f"{path}: not an environment lock (no packages)")
    return data


@dataclass(frozen=True)
class Change:
    """One package (or fact) that differs: `a` in the first lock, `b` in the second; None where absent."""

    name: str
    a: str | None
    b: str | None

    def describe(self, a_label: str = "the lock", b_label: str = "installed") -> str:
        if self.a is None:
            return f"{self.name}: not in {a_label}, {self.b} {b_label}"
        if self.b is None:
            return f"{self.name}: {self.a} in {a_label}, not {b_label}"
        return f"{self.name}: {self.a} in {a_label}, {self.b} {b_label}"


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """Every difference between two locks: trainer commit, Python, torch build, then packages by name."""
    changes = []
    for label, key, sub in (("trainer commit", "trainer", "commit"), ("python", "python", "version"),
                            ("torch cuda", "torch", "cuda")):
        va, vb = (a.get(key) or {}).get(sub), (b.get(key) or {}).get(sub)
        if va != vb:
            changes.append(Change(label, va, vb))
    pa, pb = a.get("packages") or {}, b.get("packages") or {}
    for name in sorted(set(pa) | set(pb)):
        if pa.get(name) != pb.get(name):
            changes.append(Change(name, pa.get(name), pb.get(name)))
    return changes
