"""Which processes a trainer left behind that still hold fluxgen's pipes, read from /proc (Linux; elsewhere none).

A launcher that copies its child's output until end-of-file (accelerate 1.16 tees stderr) waits as long as any
process holds the write end of that pipe. When the trainer itself has died, its data-loader workers and helpers
are orphans (their parent is no longer the launcher's descendant); if they keep the pipe open, nobody else will
close it, so the runner ends them and the launcher, at last seeing end-of-file, reports how the trainer ended.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def snapshot() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, pgid, state) for every process that can be read now."""
    table: dict[int, tuple[int, int, str]] = {}
    if not PROC.is_dir():
        return table
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"{entry.path}/stat", encoding="utf-8", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


def descendants(root: int, table: dict[int, tuple[int, int, str]]) -> set[int]:
    """Every process whose chain of parents reaches `root` (root excluded)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _pgid, _state) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def pipe_inodes(fds: list[int]) -> set[int]:
    """The inode numbers of our ends of the child's pipes (both ends of a pipe share one inode)."""
    inodes = set()
    for fd in fds:
        try:
            inodes.add(os.fstat(fd).st_ino)
        except OSError:
            continue
    return inodes


def holds_pipe(pid: int, inodes: set[int]) -> bool:
    """Whether a process has one of these pipes open (its /proc/PID/fd links read `pipe:[INODE]`)."""
    try:
        entries = os.scandir(f"/proc/{pid}/fd")
    except OSError:
        return False
    with entries:
        for entry in entries:
            try:
                link = os.readlink(entry.path)
            except OSError:
                continue
            if link.startswith("pipe:[") and int(link[6:-1]) in inodes:
                return True
    return False


def orphans_holding(root: int, inodes: set[int], *, me: int | None = None) -> list[int]:
    """Processes no longer below the trainer's launcher (`root`) that keep the run from ending: those of its group
    (they hold the launcher's inner pipes, which we cannot see) and, anywhere, those holding our pipes."""
    me = os.getpid() if me is None else me
    table = snapshot()
    root_alive = root in table and table[root][2] != "Z"
    below = descendants(root, table) if root_alive else set()
    found = []
    for pid, (_ppid, pgid, state) in table.items():
        if pid in (root, me) or pid in below or state == "Z":
            continue
        if pgid == root or holds_pipe(pid, inodes):
            found.append(pid)
    return sorted(found)
