"""The trainer's requirements as pip will install them: `-r` includes flattened, git requirements and `--with`
packages replaced by local paths, `-e .` made absolute; and the Python the environment is built on."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from fluxgen.envs.lock import norm
from fluxgen.errors import UserError

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def line_name(line: str) -> str | None:
    """The distribution a requirement line installs (`diffusers` for `git+https://…/diffusers.git@abc`)."""
    text = line.split(" #")[0].strip()
    if not text or text.startswith(("#", "-")):
        return None
    if "#egg=" in text:
        return norm(text.split("#egg=")[1].split("&")[0])
    if " @ " in text:
        return norm(text.split(" @ ")[0].split("[")[0])
    if text.startswith("git+"):
        path = text[4:].split("://", 1)[-1]
        path = path.split("/", 1)[1] if "/" in path else path  # without the host (and a user@)
        return norm(Path(path.split("@")[0]).name.removesuffix(".git"))
    m = _NAME.match(text)
    return norm(m[1]) if m else None


def flatten(path: Path, seen: set[Path] | None = None) -> list[str]:
    """The requirement lines of a file and the files it includes with `-r`, in order."""
    seen = seen if seen is not None else set()
    path = path.resolve()
    if path in seen:
        return []
    seen.add(path)
    out: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith(("-r ", "--requirement ")):
            out += flatten(path.parent / line.split(None, 1)[1], seen)
        elif line.startswith("-e ") and not re.match(r"-e\s+\w+(\+\w+)?://", line):
            out.append(f"-e {(path.parent / line.split(None, 1)[1]).resolve()}")
        elif line and not line.startswith("#"):
            out.append(line)
    return out


def with_line(name: str, path: Path) -> str:
    """A requirement for package `name` from a local wheel, source tarball or source folder."""
    path = path.expanduser().absolute()
    if not path.exists():
        raise UserError(f"--with {name}={path}: no such file or folder")
    return str(path) if path.suffix == ".whl" else f"{name} @ {path.as_uri()}"


def resolve(lines: list[str], withs: dict[str, Path], git_names: tuple[str, ...], offline: bool) -> list[str]:
    """Replace each `--with` package's line by its local path; offline, a git requirement without one is an error
    naming it (pip would only say that it cannot reach the host)."""
    wanted = {norm(k): v for k, v in withs.items()}
    out, used = [], set()
    for line in lines:
        name = line_name(line)
        if name in wanted:
            out.append(with_line(name, wanted[name]))
            used.add(name)
        else:
            out.append(line)
    out += [with_line(name, path) for name, path in wanted.items() if name not in used]
    missing = [line for line in lines if (n := line_name(line)) in {norm(g) for g in git_names}
               and n not in wanted and ("git+" in line or "://" in line)]
    if offline and missing:
        names = ", ".join(f"{line_name(x)} ({x})" for x in missing)
        raise UserError(f"offline, the trainer's git requirements cannot be fetched: {names}; pass --with "
                        f"{line_name(missing[0])}=PATH (a source folder, source tarball or wheel of it)")
    return out


def find_python(wanted: str, given: str | None, backend: str) -> str:
    """`--python`, else `python<wanted>`, else `python3`: the first that is at least the trainer's Python."""
    need = tuple(int(x) for x in wanted.split("."))
    candidates = [given] if given else [f"python{wanted}", "python3"]
    for candidate in candidates:
        exe = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        version = _version(exe) if exe else None
        if given and version is None:
            raise UserError(f"--python {given}: cannot run it; give the path of a Python {wanted} interpreter")
        if version is not None and version[:2] >= need:
            return str(Path(exe).absolute()) if Path(exe).is_file() else exe
        if given:
            raise UserError(f"--python {given} is Python {'.'.join(map(str, version or ()))}; {backend} needs "
                            f"Python {wanted} or newer: install it (e.g. `uv python install {wanted}`) and pass "
                            f"--python /path/to/python{wanted}")
    raise UserError(f"{backend} needs Python {wanted} or newer and none was found (no python{wanted} on PATH); "
                    f"install it (e.g. `uv python install {wanted}` or your package manager) and pass --python "
                    f"/path/to/python{wanted}")


def _version(exe: str) -> tuple[int, ...] | None:
    try:
        done = subprocess.run([exe, "-c", "import sys; print(*sys.version_info[:3])"], capture_output=True,
                              text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = done.stdout.split()
    return tuple(int(x) for x in parts) if done.returncode == 0 and len(parts) == 3 else None
