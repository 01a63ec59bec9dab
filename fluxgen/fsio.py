"""Atomic, no-clobber file writes and a YAML loader that refuses alias bombs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError

# An anchor/alias-expanded document larger than this many nodes is refused (billion-laughs guard).
MAX_YAML_NODES = 100_000


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import, before any thread writes files


def atomic_write(path: Path, data: str | bytes, *, force: bool = False) -> None:
    """Write through a temp file in the same folder and rename; refuse to replace a file without force."""
    path = Path(path)
    if path.exists() and not force:
        raise UserError(f"{path}: already exists; pass --force to overwrite it")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise UserError(f"{path}: cannot write here ({exc.strerror or exc}); choose another folder") from None
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; a written file gets the usual permissions
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"{path}: cannot write it ({exc.strerror or exc})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_yaml_text(text: str, source: str) -> Any:
    """safe_load, then refuse documents whose alias expansion exceeds MAX_YAML_NODES."""
    import yaml

    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is not None and _graph_size(node, MAX_YAML_NODES) > MAX_YAML_NODES:
                raise UserError(
                    f"{source}: YAML anchors/aliases expand to more than {MAX_YAML_NODES} nodes; "
                    "write the values out instead of nesting aliases"
                )
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{source}{where}: not valid YAML ({problem})") from None
    return data


def _graph_size(node: Any, limit: int) -> int:
    """Size of the node tree with aliases expanded, memoised per node so it stays linear."""
    memo: dict[int, int] = {}

    def size(n: Any) -> int:
        key = id(n)
        if key in memo:
            return memo[key]
        memo[key] = limit + 1  # a self-referencing alias counts as too large
        total = 1
        value = n.value
        if isinstance(value, list):
            for item in value:
                if isinstance(item, tuple):
                    total += size(item[0]) + size(item[1])
                else:
                    total += size(item)
                if total > limit:
                    break
        memo[key] = total
        return total

    return size(node)


def read_text_file(path: Path) -> str:
    """A user's text file as UTF-8, or one line saying why it cannot be read."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder; give a file") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def load_yaml_file(path: Path) -> Any:
    return load_yaml_text(read_text_file(path), str(path))
