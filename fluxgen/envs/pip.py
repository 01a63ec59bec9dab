"""Run pip (or any setup command) with its output streamed to a log and a callback, and turn its failures into the
one line a person can act on: no network, disk full, a resolution conflict naming the packages, a missing package."""

from __future__ import annotations

import re
import subprocess
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from fluxgen.errors import FluxgenError

_NETWORK = re.compile(r"Failed to establish a new connection|Temporary failure in name resolution|Network is "
                      r"unreachable|Could not resolve host|Name or service not known|Connection refused|"
                      r"Max retries exceeded|unable to access '")
_DISK = re.compile(r"No space left on device|\[Errno 28\]")
_NOT_FOUND = re.compile(r"No matching distribution found for (\S+)")
_CONFLICT_LINE = re.compile(r"^\s+(?:The user requested \(constraint\) |The user requested |)(\S+?)(?: \S+)? "
                            r"depends on (\S+)|^\s+The user requested (?:\(constraint\) )?(\S+)")


class SetupFailed(FluxgenError):
    """A setup step failed; the message is the one line to act on, the log holds pip's full output."""


def run(argv: Sequence[str], log: Path, on_line: Callable[[str], None] | None = None,
        cwd: Path | None = None, env: dict[str, str] | None = None) -> list[str]:
    """Run a command to its end, appending its output to `log`; return its last lines, raise with them on failure."""
    tail: deque[str] = deque(maxlen=600)
    with log.open("a", encoding="utf-8", buffering=1) as out:
        out.write("$ " + " ".join(argv) + "\n")
        proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", cwd=cwd, env=env, stdin=subprocess.DEVNULL, bufsize=1)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(line)
                tail.append(line.rstrip("\n"))
                if on_line is not None:
                    on_line(line.strip())
            code = proc.wait()
        except BaseException:  # Ctrl-C: stop pip too, so nothing keeps writing into the build
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    if code != 0:
        raise SetupFailed(explain(list(tail), log))
    return list(tail)


def explain(lines: list[str], log: Path) -> str:
    """pip's failure as one line: the cause it names, what to do, and where the full output is."""
    text = "\n".join(lines)
    where = f" (pip's output: {log})"
    if _DISK.search(text):
        return f"disk full while installing; free space under {log.parent.parent} and run the same command again " \
               f"(it continues where it stopped){where}"
    conflict = conflict_packages(lines)
    if conflict:
        return f"pip cannot satisfy {' and '.join(conflict)} together; the trainer's constraints and one of your " \
               f"--with/--wheels packages disagree, or the index lacks a version{where}"
    if _NETWORK.search(text):
        return f"no network: pip could not reach the package index; run with --offline --wheels DIR (a folder of " \
               f"wheels) and --with NAME=PATH for what is missing{where}"
    missing = _NOT_FOUND.findall(text)
    if missing:
        return f"pip found no {missing[-1]} (offline, or not on the index); pass --wheels DIR holding it, or " \
               f"--with NAME=PATH{where}"
    errors = [x.strip() for x in lines if x.strip().startswith("ERROR:")]
    last = errors[-1] if errors else next((x.strip() for x in reversed(lines) if x.strip()), "no output")
    return f"{last[:300]}{where}"


def conflict_packages(lines: list[str]) -> list[str]:
    """The requirements pip's resolver names under `The conflict is caused by:`, as `name spec` strings."""
    try:
        start = next(i for i, x in enumerate(lines) if "The conflict is caused by" in x)
    except StopIteration:
        return []
    found: list[str] = []
    for line in lines[start + 1:]:
        if not line.startswith(" ") or not line.strip():
            break
        found.append(line.strip().replace("The user requested ", "").replace("(constraint) ", ""))
    return found[:2]
