"""How much `fluxgen train` costs while it follows a trainer: throughput of the live path, and CPU during a run.

bench_monitor.py measures the parsers and the follower alone; this adds what `train` does around them.

1. Throughput: the real captures repeated into a long console (both streams, tqdm redraws and all), pushed in
   pipe-sized chunks through what `train` does with each chunk — tee to train.log (with secret redaction), the
   backend's incremental parser, the follower, events.jsonl and metrics.csv — against a baseline that only splits
   the same text into lines.
2. CPU while a run streams: `start_run` with the ai-toolkit test double at one step every 50 ms; fluxgen's own
   CPU seconds (the trainer is another process) per wall second.

    .venv/bin/python benchmarks/bench_runner.py [--lines 200000] [--steps 400]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOGS = REPO.parent / "shared" / "logs"
CAPTURES = {"ai-toolkit": ["ai-toolkit/fresh-run.stderr", "ai-toolkit/fresh-run.stdout"],
            "sd-scripts": ["sd-scripts/success-cols200.log"]}


def long_console(backend: str, lines: int) -> str:
    text = "".join((LOGS / name).read_text(encoding="utf-8", errors="replace") for name in CAPTURES[backend])
    count = len(re.split(r"[\r\n]", text))
    return text * max(1, lines // count)


def live_path(backend: str, text: str, chunk: int = 65536) -> float:
    """Seconds to take the text through the recorder, parser and follower as `train` does."""
    from fluxgen.monitor.follow import Follower
    from fluxgen.runner import make_redactor
    from fluxgen.runs.attempt import stream_parser
    from fluxgen.runs.record import Recorder

    with tempfile.TemporaryDirectory() as folder:
        recorder = Recorder(Path(folder), 1, what="bench", redact=make_redactor({"HF_TOKEN": "hf_benchmark_token"}))
        parser, follower = stream_parser(backend), Follower(total=5)
        start = time.perf_counter()
        for i in range(0, len(text), chunk):
            piece = text[i:i + chunk]
            recorder.output("stderr", piece)
            for event in parser.feed(piece):
                recorder.event(event, "stderr")
                follower.update(event)
        for event in parser.close():
            recorder.event(event, "stderr")
        recorder.close()
        return time.perf_counter() - start


def baseline(text: str) -> float:
    start = time.perf_counter()
    re.split(r"[\r\n]", text)
    return time.perf_counter() - start


def throughput(lines: int) -> None:
    for backend in CAPTURES:
        text = long_console(backend, lines)
        n = len(re.split(r"[\r\n]", text))
        live, base = live_path(backend, text), baseline(text)
        print(f"{backend:10s} {n:>8d} lines  live path {n / live:>10,.0f} lines/s ({len(text) / live / 1e6:.1f} MB/s)"
              f"   split-only baseline {n / base:>12,.0f} lines/s   ratio {live / base:.0f}x")


def cpu_during_run(steps: int) -> None:
    """A whole `train` with the ai-toolkit double: 0.529 s/step captured, FAKE_SPEED≈10.6 → one step per 50 ms."""
    sys.path.insert(0, str(REPO / "tests"))
    from fluxgen.plan import PlanOptions, build_plan
    from fluxgen.runs.attempt import FollowOptions
    from fluxgen.runs.session import TrainOptions, start_run
    from helpers import make_images

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.environ.update(FLUXGEN_AI_TOOLKIT_DIR=str(REPO / "tests/runner/fakes/ai-toolkit"), FAKE_SPEED="10.6",
                          FAKE_LOGS=str(LOGS), HF_HUB_OFFLINE="1")
        (root / "model" / "transformer").mkdir(parents=True)
        images = make_images(root / "images", 4, size=128)
        plan = build_plan("cyber-skull", PlanOptions(images=str(images), steps=steps,
                                                    sets=[f"model.base={root / 'model'}", "save.every=100",
                                                          "samples.every=0"]))
        with open(os.devnull, "w") as sink:
            options = TrainOptions(runs_dir=root / "runs", report=False, follow=FollowOptions(out=sink))
            cpu0, wall0 = time.process_time(), time.perf_counter()
            result = start_run(plan, options)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(f"train with the ai-toolkit double: {steps} steps in {wall:.1f} s ({result.status}); fluxgen used "
          f"{cpu:.2f} CPU s = {100 * cpu / wall:.1f}% of one core ({cpu / steps * 1000:.2f} ms per step)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    throughput(args.lines)
    cpu_during_run(args.steps)


if __name__ == "__main__":
    main()
