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


def load_yaml_text(text: str, source: str, *, duplicates: bool = False) -> Any:
    """safe_load, then refuse documents whose alias expansion exceeds MAX_YAML_NODES, and (unless `duplicates`)
    a key given twice in one mapping, which PyYAML would silently resolve to the last."""
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
            if node is not None and not duplicates:
                _refuse_duplicates(node, source)
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


def _refuse_duplicates(node: Any, source: str) -> None:
    """One line for the first key that appears twice in the same mapping (iteratively: nesting is bounded)."""
    import yaml

    stack, seen_nodes = [node], set()
    while stack:
        current = stack.pop()
        if id(current) in seen_nodes:
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            keys: dict[str, int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in keys:
                        line = key.start_mark.line + 1
                        raise UserError(f"{source}:{line}: key '{key.value}' appears twice in one mapping (first "
                                        f"on line {keys[key.value]}); keep one of them")
                    keys[key.value] = key.start_mark.line + 1
                stack += [key, value]
        elif isinstance(current, yaml.SequenceNode):
            stack += current.value


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


STAGING_PREFIX = ".fluxgen-staging-"


def write_set(files: dict[str, str | bytes], out_dir: Path, *, force: bool = False) -> list[Path]:
    """Write a set of files all or nothing: each into a hidden staging folder inside `out_dir`, then moved in.
    Without force, each move is a hard link that fails if the name appeared meanwhile (no check-then-replace
    race), and a failed set removes what it had moved. The caller holds out_dir's lock (fluxgen.locks)."""
    import shutil

    out_dir = Path(out_dir)
    targets = [out_dir / name for name in files]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise UserError(f"{existing[0]}: already exists; pass --force to overwrite it or choose another --out")
    for stale in out_dir.glob(STAGING_PREFIX + "*"):  # left by a command that was killed; we hold the lock
        shutil.rmtree(stale, ignore_errors=True)
    try:
        stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    except OSError as exc:
        raise UserError(f"{out_dir}: cannot write here ({exc.strerror or exc}); choose another folder") from None
    moved: list[Path] = []
    try:
        for name, data in files.items():
            atomic_write(stage / name, data, force=True)
        for name, target in zip(files, targets, strict=True):
            _move_in(stage / name, target, force)
            moved.append(target)
    except BaseException:
        if not force:
            for path in moved:
                path.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return targets


def _move_in(src: Path, target: Path, force: bool) -> None:
    try:
        if force:
            os.replace(src, target)
        else:
            try:
                os.link(src, target)
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links: the lock keeps other fluxgen commands out
                if target.exists():
                    raise FileExistsError(target) from None
                os.replace(src, target)
    except FileExistsError:
        raise UserError(f"{target}: appeared while fluxgen was writing; nothing was written, run it again "
                        "(with --force to overwrite)") from None
    except OSError as exc:
        raise UserError(f"{target}: cannot write it ({exc.strerror or exc}); nothing was written") from None


def yaml_lines(text: str) -> dict[str, int]:
    """Dotted key (list items by index: `config.process.0.train.lr`) -> 1-based line of its value."""
    import yaml

    out: dict[str, int] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = f"{prefix}{k.value}"
                out[key] = v.start_mark.line + 1
                walk(v, key + ".")
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                out[f"{prefix}{i}"] = item.start_mark.line + 1
                walk(item, f"{prefix}{i}.")

    try:
        walk(yaml.compose(text, Loader=yaml.SafeLoader), "")
    except yaml.YAMLError:
        pass
    return out


def sha256_file(path: Path) -> str:
    """`sha256:<hex>` of a file, read in 1 MiB blocks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()
