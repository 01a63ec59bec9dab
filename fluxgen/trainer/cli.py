"""`python -m fluxgen.trainer CONFIG.yaml [--resume]`: exit 0 done, 1 error (one line on stderr), 130/143 stopped."""

from __future__ import annotations

import argparse
import importlib.util
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from fluxgen.errors import FluxgenError
from fluxgen.trainer.config import load_config
from fluxgen.trainer.console import Console

EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}
TRAIN_MODULES = ("torch", "diffusers", "transformers", "peft", "safetensors")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fluxgen.trainer",
        description="Train a FLUX.1 LoRA with the builtin trainer, as one YAML config describes.",
    )
    parser.add_argument("config", type=Path, help="the trainer config (YAML); see docs/builtin-trainer.md")
    parser.add_argument(
        "--resume", action="store_true", help="continue from the last valid checkpoint in save.output_dir"
    )
    return parser


def main(argv: list[str] | None = None, console: Console | None = None, stop=None) -> int:
    """Run the trainer and return its exit code; `console` and `stop` let a caller watch and stop it in-process."""
    args = _parser().parse_args(argv)
    console = console or Console()
    try:
        cfg = load_config(args.config)
    except FluxgenError as exc:
        console.error(_one_line(str(exc)))
        return exc.exit_code
    missing = [m for m in TRAIN_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        console.error(f"the builtin trainer needs {', '.join(TRAIN_MODULES)}; missing here: {', '.join(missing)}; "
                      "install them with: pip install 'fluxgen[train]'")
        return 1
    from fluxgen.trainer import distributed
    from fluxgen.trainer.loop import Stop, TrainingInterrupted, train

    distributed.setup()
    if not distributed.is_main():
        import os

        console = Console(open(os.devnull, "w"), console.err)  # noqa: SIM115 - one line set per run: rank 0's
    stop = stop if stop is not None else Stop()
    restore = _install_signal_handlers(stop, TrainingInterrupted)
    try:
        train(cfg, resume=args.resume, console=console, stop=stop)
        return 0
    except TrainingInterrupted as exc:
        console.interrupted(exc.step, exc.total, exc.signal_name)
        return EXIT_CODES.get(exc.signal_name, 130)
    except KeyboardInterrupt:
        console.interrupted(stop.step, stop.total, "SIGINT")
        return 130
    except FluxgenError as exc:
        console.error(_one_line(str(exc)))
        return exc.exit_code
    finally:
        restore()
        distributed.teardown()


def _one_line(message: str) -> str:
    return "; ".join(part.strip() for part in message.splitlines() if part.strip())


def _install_signal_handlers(stop, interrupted: type[Exception]) -> Callable[[], None]:
    """First SIGINT/SIGTERM: finish the current step and stop. A second one: stop at once (no checkpoint)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handle(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if stop.signal_name:
            raise interrupted(stop.step, stop.total, name)
        stop.request(name)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
