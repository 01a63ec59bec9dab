"""Atomic, no-clobber file writes and a YAML loader that refuses alias bombs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError

# An anchor/alias-expanded document larger than this many nodes is refused (billion-laughs guard).
MAX_YAML_NODES = 100_000
# Intents and trainer configs are a few kilobytes and a few levels deep; anything far beyond is refused, not read.
MAX_TEXT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64


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

    too_deep = _nesting_too_deep(text)
    if too_deep:
        raise UserError(f"{source}:{too_deep}: nested more than {MAX_DEPTH} levels deep; "
                        "an intent or trainer config is a few levels deep, so check the brackets and indentation")
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is not None and _graph_size(node, MAX_YAML_NODES) > MAX_YAML_NODES:
                plain = _graph_size(node, MAX_YAML_NODES, aliases=False) > MAX_YAML_NODES
                raise UserError(
                    f"{source}: more than {MAX_YAML_NODES} values; an intent or trainer config holds a few dozen"
                    if plain else f"{source}: YAML anchors/aliases expand to more than {MAX_YAML_NODES} nodes; "
                    "write the values out instead of nesting aliases"
                )
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except RecursionError:
        raise UserError(f"{source}: nested too deeply to read; an intent or trainer config is a few levels deep"
                        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{source}{where}: not valid YAML ({problem})") from None
    return data


def _nesting_too_deep(text: str) -> int:
    """The line where brackets or block indentation first nest past MAX_DEPTH (0: never), found before PyYAML's
    recursive composer would hit Python's recursion limit on it."""
    depth, indents = 0, 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" -")
        if stripped and not stripped.startswith("#"):
            indents = (len(line) - len(stripped)) // 2
        for ch in line:
            if ch in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    return number
            elif ch in "]}":
                depth = max(0, depth - 1)
            elif ch == "#":
                break
        if depth + indents > MAX_DEPTH * 2:
            return number
    return 0


def check_depth(data: Any, source: str) -> Any:
    """Refuse parsed data nested past MAX_DEPTH (TOML and JSON readers take it; the checks that walk it would
    not), iteratively, so the check itself cannot recurse."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UserError(f"{source}: nested more than {MAX_DEPTH} levels deep; "
                            "a trainer config is a few levels deep, so check the brackets")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list | tuple):
            stack.extend((v, depth + 1) for v in value)
    return data


def _graph_size(node: Any, limit: int, *, aliases: bool = True) -> int:
    """Size of the node tree with aliases expanded (or each node once), memoised per node so it stays linear."""
    memo: dict[int, int] = {}

    def size(n: Any) -> int:
        key = id(n)
        if key in memo:
            return memo[key] if aliases else 0
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


def read_text_file(path: Path, *, limit: int = MAX_TEXT_BYTES) -> str:
    """A user's text file as UTF-8, or one line saying why it cannot be read. Only regular files, opened without
    blocking (a FIFO would wait forever) and read up to `limit` bytes (/dev/zero never ends)."""
    import stat

    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError
            if not stat.S_ISREG(info.st_mode):
                raise UserError(f"{path}: not a regular file (a device, pipe or socket); give a file")
            raw = fh.read(limit + 1)
        if len(raw) > limit:
            raise UserError(f"{path}: larger than {limit // (1024 * 1024)} MiB; a config file is a few kilobytes, "
                            "so check that this is the file you meant")
        return raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text() would
    except ValueError as exc:  # NUL in the name (UnicodeDecodeError is a ValueError: not UTF-8)
        if isinstance(exc, UnicodeDecodeError):
            raise UserError(f"{path}: not UTF-8 text; save it as UTF-8") from None
        raise UserError(f"{ascii(str(path))}: not a usable file name (it contains a NUL byte)") from None
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder; give a file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def load_yaml_file(path: Path) -> Any:
    return load_yaml_text(read_text_file(path), str(path))
