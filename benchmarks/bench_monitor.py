"""Console monitor cost: parser + follower throughput on long logs, and CPU use while a run streams.

Usage: python benchmarks/bench_monitor.py [--lines 200000] [--steps 200] [--step-seconds 0.05]

1. Throughput: the real captures in ../shared/logs repeated to --lines lines, fed in 4 KiB chunks to the
   incremental parser and the live follower, against splitting the same text into lines (the floor).
2. Streaming: a child process replays a capture through a pipe at one training step every --step-seconds
   while the monitor follows it (parser, follower, checks, plain live view); reports the monitor's CPU seconds
   per wall second (time.process_time and resource.getrusage of this process only).
"""

from __future__ import annotations

import argparse
import codecs
import io
import os
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from monitor.captures import AI_TOOLKIT_FILES, LOGS, SD_SCRIPTS_FILES  # noqa: E402  (the suite's list of captures)

CAPTURES = {"ai-toolkit": AI_TOOLKIT_FILES, "sd-scripts": SD_SCRIPTS_FILES}
# The replaying child: the capture's start-up, then N steps drawn by tqdm's own formatter (two redraws per
# step, as sd-scripts does), a rich warning glued to the bar every 25 steps, then the capture's ending.
CHILD = textwrap.dedent("""
    import sys, time
    from tqdm import tqdm
    text = open(sys.argv[1], encoding="utf-8", newline="").read()
    steps, pause = int(sys.argv[2]), float(sys.argv[3])
    start = text.index("\\rsteps:")
    end = text.index("2026-11-21 22:31:50 INFO")
    out = sys.stdout
    out.write(text[:start]); out.flush()
    warn = " " * 20 + "WARNING  Failed to get git commit hash, using fallback" + " " * 100
    warn += "sai_model_spec.py:288\\n"
    for n in range(1, steps + 1):
        time.sleep(pause)
        loss = 1.5 - n / (4 * steps)
        out.write("\\r" + tqdm.format_meter(n, steps, n * pause, prefix="steps"))
        postfix = f"avr_loss={loss:.3g}"
        out.write("\\r" + tqdm.format_meter(n, steps, n * pause, prefix="steps", postfix=postfix))
        if n % 25 == 0:
            out.write(warn)
        out.flush()
    out.write(text[end:]); out.flush()
""")


def read(backend: str, name: str) -> str:
    with open(LOGS / backend / name, encoding="utf-8", newline="") as f:
        return f.read()


def long_log(backend: str, lines: int) -> str:
    """The backend's captures repeated until they make at least `lines` logical lines (one per redraw)."""
    from fluxgen.monitor.text import iter_lines

    unit = "".join(read(backend, name) + "\n" for name in CAPTURES[backend])
    per_unit = sum(1 for _ in iter_lines(unit))
    return unit * -(-lines // per_unit)


def follow_text(backend: str, text: str, chunk: int = 4096) -> int:
    """Parse and follow a whole text in chunks; returns the number of events."""
    from fluxgen.monitor import new_parser
    from fluxgen.monitor.follow import Follower

    parser, follower, count = new_parser(backend), Follower(), 0
    for i in range(0, len(text), chunk):
        events = parser.feed(text[i : i + chunk])
        follower.update(events)
        follower.check()
        count += len(events)
    events = parser.close()
    follower.update(events)
    return count + len(events)


def throughput(backend: str, n_lines: int) -> dict[str, float]:
    from fluxgen.monitor.text import iter_lines

    text = long_log(backend, n_lines)
    logical = sum(1 for _ in iter_lines(text))
    timings = {}
    for label, work in (
        ("split", lambda: text.replace("\r", "\n").split("\n")),
        ("splitter", lambda: list(iter_lines(text))),
        ("monitor", lambda: follow_text(backend, text)),
    ):
        start = time.perf_counter()
        work()
        timings[label] = time.perf_counter() - start
    return {
        "count": logical,
        **{k: logical / v for k, v in timings.items()},
        "ratio": timings["monitor"] / timings["split"],
    }


def streaming(steps: int, pause: float) -> dict[str, float]:
    from fluxgen.monitor import new_parser
    from fluxgen.monitor.follow import Follower, LiveView

    capture = LOGS / "sd-scripts" / "success-cols200.log"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(capture), str(steps), str(pause)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    parser, follower, sink = new_parser("sd-scripts"), Follower(), io.StringIO()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    cpu0, usage0, wall0 = time.process_time(), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    with LiveView(follower, file=sink, interval=1.0, plain=True) as view:
        while chunk := os.read(child.stdout.fileno(), 65536):
            follower.update(parser.feed(decoder.decode(chunk)))
            follower.check()
            view.refresh()
        follower.update(parser.feed(decoder.decode(b"", final=True)) + parser.close())
    wall = time.perf_counter() - wall0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    child.wait()
    rusage_cpu = (usage.ru_utime - usage0.ru_utime) + (usage.ru_stime - usage0.ru_stime)
    return {
        "wall": wall,
        "cpu_per_wall": (time.process_time() - cpu0) / wall,
        "rusage_per_wall": rusage_cpu / wall,
        "steps_seen": follower.step or 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--step-seconds", type=float, default=0.05)
    args = parser.parse_args()
    if not LOGS.is_dir():
        sys.exit(f"the real console captures are not here: {LOGS}")
    sys.path.insert(0, str(REPO))
    print(
        f"{'backend':<11} {'lines':>8} {'split lines/s':>14} {'splitter lines/s':>17} "
        f"{'parser+follower lines/s':>24} {'x split time':>13}"
    )
    for backend in CAPTURES:
        r = throughput(backend, args.lines)
        print(
            f"{backend:<11} {r['count']:>8} {r['split']:>14,.0f} {r['splitter']:>17,.0f} "
            f"{r['monitor']:>24,.0f} {r['ratio']:>13.1f}"
        )
    s = streaming(args.steps, args.step_seconds)
    print(
        f"\nstreaming sd-scripts, {args.steps} steps at {args.step_seconds * 1000:.0f} ms/step "
        f"through a pipe: {s['wall']:.1f} s wall, monitor CPU {s['cpu_per_wall'] * 100:.2f}% of one core "
        f"(getrusage {s['rusage_per_wall'] * 100:.2f}%), last step seen {s['steps_seen']}"
    )


if __name__ == "__main__":
    main()
