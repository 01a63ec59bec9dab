"""One writer at a time for an output folder or a run: a lock file holding the holder's pid, taken with flock.

flock is released by the kernel when its holder dies, however it dies (kill -9 included), so a lock left behind
by a dead command is stale by construction and simply taken over; the pid written in the file is only for the
message that names who holds a live one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fluxgen.errors import UserError

_HELD: set[Path] = set()  # lock files this process holds now


def is_held(lock_file: Path) -> bool:
    """Whether this process holds the lock at `lock_file`: writers that must only run under it check."""
    return Path(lock_file).absolute() in _HELD


def lock_path_beside(target: Path) -> Path:
    """The lock for a folder that is swapped in whole (`prepare --out`): a hidden file next to it."""
    target = Path(target)
    return target.with_name(f".{target.name}.fluxgen-lock")


@contextmanager
def hold(lock_file: Path, what: str) -> Iterator[None]:
    """Hold the lock at `lock_file` for `what` (shown to a second command), or refuse at once in one line."""
    lock_file = Path(lock_file)
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{lock_file.parent}: cannot write here ({exc.strerror or exc}); choose another folder"
                        ) from None
    fd = _acquire(lock_file, what)
    key = lock_file.absolute()
    _HELD.add(key)
    try:
        yield
    finally:
        _HELD.discard(key)
        try:
            lock_file.unlink()  # while still held: a waiter that opened the old file sees it was replaced
        except OSError:
            pass
        os.close(fd)


def _acquire(lock_file: Path, what: str) -> int:
    for _ in range(20):
        try:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UserError(f"{lock_file}: cannot write here ({exc.strerror or exc}); choose another folder"
                            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise UserError(f"{what}: another fluxgen command ({holder}) is writing it now; wait for it to "
                            f"finish, or choose another folder") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock_file).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the holder we waited behind removed the file: lock the new one instead
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd
    raise UserError(f"{what}: the lock {lock_file} keeps changing hands; try again")


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"pid {text}" if text.isdigit() else "pid unknown"
