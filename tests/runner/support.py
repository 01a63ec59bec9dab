"""Helpers for the run-side tests: the doubles' paths, CLI arguments, run folders, processes and signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from monitor.captures import LOGS, needs_captures, require_captures  # noqa: F401 - one definition for both suites

FAKES = Path(__file__).parent / "fakes"
AITK, SD = FAKES / "ai-toolkit", FAKES / "sd-scripts"
# The trainer children of the tests use one thread each: two pytest workers each running a torch trainer would
# otherwise oversubscribe a 2-core machine many times over.
QUIET_CHILD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# The plan options every test run uses: the captures' shape (5 steps, saves and samples every 2) on a local model.
AITK_ARGS = ("--steps", "5", "--set", "save.every=2", "--set", "samples.every=2")
SD_ARGS = ("--backend", "sd-scripts", "--steps", "8", "--set", "save.every=2", "--set", "samples.every=4")


def train_args(images: Path, model: Path, *extra: str, backend: str = "ai-toolkit") -> list[str]:
    base = AITK_ARGS if backend == "ai-toolkit" else SD_ARGS
    return ["train", "cyber-skull", "--images", str(images), "--set", f"model.base={model}", *base,
            "--no-report", *extra]


def only_run(runs: Path) -> Path:
    found = [p for p in runs.iterdir() if p.is_dir()]
    assert len(found) == 1, found
    return found[0]


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def group_members(pgid: int) -> list[str]:
    """Processes of a group that are still running (zombies waiting for init to reap them do not count)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(stat.parent.name)
    return alive


def wait_group_gone(pgid: int, timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


STARTED: list[subprocess.Popen] = []


def start_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """fluxgen as a real process (its own session, as a terminal's foreground job would be), for signal tests."""
    code = "import sys; from fluxgen.cli import main; main(sys.argv[1:])"
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    STARTED.append(proc)
    return proc


def stop_started() -> None:
    """After a test: a fluxgen still running gets SIGTERM (it cleans up its trainer), then SIGKILL."""
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()


def wait_for(root: Path, pattern: str, text: str, timeout: float = 30.0) -> Path:
    """Wait until a file matching `pattern` under root contains `text` (e.g. a checkpoint line in train.log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in root.glob(pattern):
            if path.is_file() and text in path.read_text(encoding="utf-8", errors="replace"):
                return path
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {root}/{pattern}")


def interrupt(proc: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 30.0) -> tuple[str, str]:
    proc.send_signal(sig)
    return proc.communicate(timeout=timeout)
