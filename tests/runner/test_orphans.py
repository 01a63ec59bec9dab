"""A trainer that died while something it started still holds its output: the run is judged, nothing waits forever.

Each launcher below stands in for a way this happens: accelerate 1.16 copying its child's stderr until end-of-file
while an orphaned worker keeps the pipe open; a launcher that exits leaving a helper that left the trainer's group
(setsid) holding stdout; a double-forked helper holding both streams.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fluxgen.runner import ChildRun, Launch

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")

# A helper that ignores Ctrl-C and SIGTERM and never exits by itself (unlike torch's workers): only SIGKILL ends it.
STUBBORN = "import signal, time\nfor s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_IGN)\n" \
           "while True: time.sleep(0.2)"

TRAINER = textwrap.dedent("""
    import os, subprocess, sys
    quiet = subprocess.DEVNULL if sys.argv[3] == "quiet" else None  # holds only the launcher's inner pipe
    helper = subprocess.Popen([sys.executable, "-c", sys.argv[1]], start_new_session=sys.argv[2] == "setsid",
                              stdout=quiet)
    print(f"helper {helper.pid}", file=sys.stderr, flush=True)
    if sys.argv[3] == "double-fork":
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", sys.argv[1]])
    print("Traceback: CUDA out of memory", file=sys.stderr, flush=True)
    os._exit(3)
""")

# accelerate launch 1.16's shape: start the trainer, copy its stderr to ours until end-of-file, then wait for it.
TEE = textwrap.dedent("""
    import subprocess, sys
    child = subprocess.Popen([sys.executable, *sys.argv[1:]], stderr=subprocess.PIPE)
    for line in child.stderr:
        sys.stderr.buffer.write(line); sys.stderr.flush()
    sys.exit(1 if child.wait() else 0)
""")


def run_launcher(tmp_path: Path, *argv: str) -> tuple[object, str, list[int]]:
    (tmp_path / "trainer.py").write_text(TRAINER)
    (tmp_path / "tee.py").write_text(TEE)
    seen: list[str] = []
    child = ChildRun(Launch([sys.executable, *argv], {}, tmp_path), lambda stream, text: seen.append(text),
                     grace=1.0, tick=0.05, orphan_grace=1.0)
    ended = child.run()
    text = "".join(seen)
    helpers = [int(w.split()[1]) for w in text.splitlines() if w.startswith("helper ")]
    return ended, text, helpers


def gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return False


@pytest.mark.parametrize(("launcher", "session", "shape"), [
    ("tee", "same", "plain"),         # accelerate tee, orphaned worker in the trainer's group
    ("tee", "same", "quiet"),         # ... holding only the pipe between the trainer and the launcher
    ("tee", "setsid", "plain"),       # accelerate tee, worker that left the group
    ("direct", "setsid", "plain"),    # the launcher itself exits; a helper in its own session holds stdout/stderr
    ("direct", "same", "double-fork"),  # a double-forked helper holding both streams
])
def test_a_dead_trainer_s_leftovers_do_not_hold_the_run(tmp_path: Path, launcher: str, session: str,
                                                        shape: str) -> None:
    argv = ["trainer.py", STUBBORN, session, shape]
    started = time.monotonic()
    ended, text, helpers = run_launcher(tmp_path, *(["tee.py", *argv] if launcher == "tee" else argv))
    assert time.monotonic() - started < 30
    assert "CUDA out of memory" in text  # the output before the end is all there, to be diagnosed
    assert ended.exit_code == (1 if launcher == "tee" else 3)  # the launcher's own verdict, as it reports it
    assert helpers and all(gone(pid) for pid in helpers)


def test_a_living_trainer_s_workers_are_left_alone(tmp_path: Path) -> None:
    """Workers below a live trainer are not orphans, however long they hold the output."""
    code = ("import subprocess, sys, time\nw = subprocess.Popen([sys.executable, '-c', 'import time; "
            "time.sleep(2.5)'])\ntime.sleep(2.5)\nprint('done', flush=True)\nw.wait()")
    seen: list[str] = []
    ended = ChildRun(Launch([sys.executable, "-c", code], {}, tmp_path), lambda s, t: seen.append(t),
                     tick=0.05, orphan_grace=0.5).run()
    assert ended.exit_code == 0 and "done" in "".join(seen)
