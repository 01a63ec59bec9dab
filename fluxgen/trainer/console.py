"""The trainer's stdout: one plain line per fact, flushed at once, in the format `fluxgen.backends.builtin.console` parses."""

from __future__ import annotations

import sys
from typing import TextIO


class Console:
    """Every line the trainer prints goes through here, so the format lives in one place."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None):
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr

    def line(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def phase(self, name: str, detail: str) -> None:
        """name is one of: loading model, caching latents, caching text embeddings, sampling, training."""
        self.line(f"{name}: {detail}")

    def step(self, step: int, total: int, loss: float, lr: float, seconds_per_it: float) -> None:
        self.line(f"step {step}/{total} loss={loss:.6f} lr={lr:.3e} s/it={seconds_per_it:.3f}")

    def checkpoint(self, step: int, path: object) -> None:
        self.line(f"saved checkpoint step {step}: {path}")

    def sample(self, step: int, path: object) -> None:
        self.line(f"saved sample step {step}: {path}")

    def resumed(self, step: int, path: object) -> None:
        self.line(f"resumed from step {step}: {path}")

    def warning(self, message: str) -> None:
        self.line(f"warning: {message}")

    def interrupted(self, step: int, total: int, signal_name: str) -> None:
        self.line(f"interrupted at step {step}/{total} by {signal_name}")

    def done(self, path: object) -> None:
        self.line(f"done: {path}")

    def error(self, message: str) -> None:
        """Errors go to stderr as one line, so a wrapper can show them without a traceback."""
        print(f"error: {message}", file=self.err, flush=True)
