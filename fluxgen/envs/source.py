"""Get a trainer's source at its pin: a git folder, a git URL, a source tarball, the vendored submodule or a clone of
the pinned repository. Whatever the origin, the tree lands in the environment's `src/` with a `.fluxgen-source.json`
saying where it came from and which commit it is (a tarball has no git metadata to ask)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.fsio import sha256_file

MARKER = ".fluxgen-source.json"
_URL = re.compile(r"^(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:")
_TARBALL = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")


def fetch(dest: Path, pin: str, *, source: str | None, vendored: Path | None, repo: str | None,
          entry: str | None) -> dict[str, Any]:
    """Put the trainer at `pin` into `dest` (which must not exist) and return what the marker records."""
    if source is None and vendored is not None and entry and (vendored / entry).is_file():
        info = _git_clone(str(vendored), dest, pin, "vendored submodule")
    elif source is None:
        if not repo:
            raise UserError("no trainer source: pass --source with a git folder, URL or source tarball")
        info = _git_clone(repo, dest, pin, "clone of the pinned repository")
    elif _URL.match(source) and not source.endswith(_TARBALL):
        info = _git_clone(source, dest, pin, "git URL")
    else:
        path = _local(source)
        if path.is_dir():
            info = (_git_clone(str(path), dest, pin, "git folder") if (path / ".git").exists()
                    else _copy_tree(path, dest, pin))
        else:
            info = _tarball(path, dest, pin)
    if entry and not (dest / entry).is_file():
        shutil.rmtree(dest, ignore_errors=True)
        raise UserError(f"{source or repo}: has no {entry}; is it the trainer's source tree?")
    (dest / MARKER).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def _local(source: str) -> Path:
    if _URL.match(source):  # a tarball URL: fetched like any download, no git needed
        return _download(source)
    path = Path(source).expanduser()
    if not path.exists():
        raise UserError(f"--source {source}: no such folder or file")
    return path.absolute()


def _download(url: str) -> Path:
    import urllib.request

    target = Path(tempfile.mkdtemp(prefix="fluxgen-src-")) / Path(url.split("?")[0]).name
    try:
        with urllib.request.urlopen(url, timeout=60) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        raise UserError(f"cannot download {url} ({exc}); no network? download it elsewhere and pass --source "
                        "FILE") from None
    return target


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    if shutil.which("git") is None:
        raise UserError("git is not installed; install it, or pass --source with a source tarball")
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL, env={"GIT_TERMINAL_PROMPT": "0", **_path_env()})


def _path_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "GIT_SSL_CAINFO", "SSL_CERT_FILE")}


def _git_clone(origin: str, dest: Path, pin: str, kind: str) -> dict[str, Any]:
    done = _git("clone", "--quiet", "--no-checkout", origin, str(dest))
    if done.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        last = (done.stderr.strip().splitlines() or ["git failed"])[-1]
        raise UserError(f"cannot clone {origin} ({last}); no network? pass --source with a git folder or source "
                        f"tarball of the trainer at {pin[:12]}")
    done = _git("checkout", "--quiet", pin, cwd=dest)
    if done.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        raise UserError(f"{origin}: has no commit {pin[:12]} (fluxgen's pin); fetch it there, or pass a source at it")
    return {"kind": kind, "origin": origin, "commit": pin, "verified": "git"}


def _copy_tree(path: Path, dest: Path, pin: str) -> dict[str, Any]:
    shutil.copytree(path, dest, symlinks=True)
    return {"kind": "folder", "origin": str(path), **_commit_from_name(path.name, pin, str(path))}


def _commit_from_name(name: str, pin: str, origin: str) -> dict[str, Any]:
    """A source tree without git metadata is trusted to be the pin when its name says so (`ai-toolkit-27a03a91`)
    and refused when its name carries another commit."""
    m = re.search(r"-([0-9a-f]{7,40})$", name)
    if m is None:
        return {"commit": pin, "verified": "assumed (no commit in its name)"}
    if not pin.startswith(m[1]):
        raise UserError(f"{origin}: is at commit {m[1]}, fluxgen's pin is {pin[:12]}; pass the source at the pin")
    return {"commit": pin, "verified": "name"}


def _tarball(path: Path, dest: Path, pin: str) -> dict[str, Any]:
    if not tarfile.is_tarfile(path):
        raise UserError(f"--source {path}: neither a folder nor a tar archive")
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
    try:
        with tarfile.open(path) as tar:
            tar.extractall(staging, filter="data")  # "data" refuses links and paths that leave the folder
        tops = [p for p in staging.iterdir()]
        top = tops[0] if len(tops) == 1 and tops[0].is_dir() else staging
        facts = _commit_from_name(top.name if top is not staging else path.name.split(".tar")[0], pin, str(path))
        top.rename(dest)
    except (tarfile.TarError, EOFError) as exc:
        raise UserError(f"--source {path}: damaged archive ({exc})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"kind": "tarball", "origin": str(path), "sha256": sha256_file(path), **facts}


def recorded_commit(folder: Path) -> str | None:
    """The commit a fluxgen-fetched tree without git metadata was recorded at."""
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8")).get("commit")
    except (OSError, ValueError, AttributeError):
        return None
