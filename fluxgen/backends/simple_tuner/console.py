"""Parser of SimpleTuner 4.10.1's console (`python -m simpletuner.train`): lines in, events out.

Its log records look like `[RANK 0] 2026-12-06 17:46:44,094 [WARNING] message`; the training bar is a tqdm bar
described `Epoch 1/1, Steps` with `lr=…, step_loss=…` as postfix; other bars (captions, caches, validation prompts)
are not training progress. Tested on the captures in tests/backends/simple_tuner/captures/.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from fluxgen.events import Event
from fluxgen.monitor.common import ConsoleParser
from fluxgen.monitor.tqdm import Bar, parse_bar

RECORD = re.compile(r"^(?:\[RANK \d+\] )?\d{4}-\d\d-\d\d [\d:,.]+ \[(?P<level>[A-Z]+)\] (?:\[RANK \d+\] )*"
                    r"(?P<msg>.*)$", re.I)
TRAIN_BAR = re.compile(r"^Epoch \d+/\d+,? Steps")
CHECKPOINT = re.compile(r"^Saving current state to (?P<path>\S*checkpoint-(?P<step>\d+))$")
RESUMED = re.compile(r"^(?:Resuming from checkpoint|Loading states from) (?P<path>\S*checkpoint-(?P<step>\d+))")
ARGPARSE_ERROR = re.compile(r"^[\w.-]+\.py: error: (?P<msg>.+)$")  # its parser stopping on config.json
SAMPLING = re.compile(r"^Processing \d+ local validation work items")
# Messages that start a phase, by their first words.
PHASES = (
    (re.compile(r"^Loading (?:diffusion model|AutoencoderKL|tokenizer|CLIP|T5)"), "loading"),
    (re.compile(r"^(?:Loading data backend config|Configuring (?:text embed|data) backend|\(id=[^)]*\) "
                r"(?:Creating VAE latent cache|Initialise text embed)|Precomputing)"), "caching"),
)
# SimpleTuner's own warnings that are advice for a real run, not trouble with this one.
QUIET_WARNINGS = re.compile(r"^No cache file found, creating new one|expects around \d+ or more inference steps"
                            r"|requires an alignment value of 64px|^Key \w+ not found in the current backend config")


class Parser(ConsoleParser):
    """Incremental: `feed(chunk)` as the console arrives, `close()` at its end."""

    def __init__(self) -> None:
        super().__init__()
        self._pending: tuple[int, Bar] | None = None  # the current step's bar, until its own loss is certain
        self._start: int | None = None  # the step the training bar started at

    def handle(self, lineno: int, text: str) -> None:
        if "%|" in text:
            bar = parse_bar(text)
            if bar is not None and TRAIN_BAR.match(bar.desc):
                self._bar(lineno, bar)
            return
        record = RECORD.match(text.strip())
        if record is None:
            if match := ARGPARSE_ERROR.match(text.strip()):
                self.error(lineno, f"config.json: {match['msg']}")
            else:
                self.scan(lineno, text)
            return
        self._record(lineno, record["level"], record["msg"].strip())

    def _bar(self, lineno: int, bar: Bar) -> None:
        """The bar is drawn when the step counter moves, with the previous step's loss still in its postfix, and
        again by `set_postfix` with this step's loss once the step's checkpoint and validation are done; so a step's
        progress event goes out when the next step starts (or the console ends). The first drawing is where the
        run starts (0, or the resumed step), not a step done."""
        self.total = bar.total
        self.set_phase("training", lineno)
        if self._start is None or bar.n < (self._pending[1].n if self._pending else self._start):
            self._start, self._pending = bar.n, None
            self.step = bar.n if bar.n else self.step
            return
        if bar.n == self._start and self._pending is None:
            return
        if self._pending is not None and bar.n > self._pending[1].n:
            self.flush()
        self.step = bar.n
        self._pending = (lineno, bar)

    def flush(self) -> None:
        if self._pending is None:
            return
        lineno, bar = self._pending
        self._pending = None
        self.emit("progress", lineno, step=bar.n, total=bar.total, loss=bar.loss, lr=bar.lr,
                  seconds_per_it=bar.seconds_per_it)
        if bar.loss is not None and not math.isfinite(bar.loss) and "nan_loss" not in self._codes_seen:
            self.error(lineno, f"loss is {bar.loss} at step {bar.n}", "nan_loss")

    def _record(self, lineno: int, level: str, msg: str) -> None:
        if match := CHECKPOINT.match(msg):
            self.set_phase("saving", lineno, self.step)
            self.emit("checkpoint", lineno, step=int(match["step"]), path=match["path"], final=False)
        elif match := RESUMED.match(msg):
            self.step = int(match["step"])
            self.emit("resume", lineno, step=self.step, path=match["path"])
        elif SAMPLING.match(msg):
            self.set_phase("sampling", lineno, self.step)
        elif level == "WARNING" and not QUIET_WARNINGS.search(msg):
            self.warning(lineno, msg)
        elif level in ("ERROR", "CRITICAL") and not msg.startswith(("Could not parse input", "No webhook")):
            self.error(lineno, msg)
        elif self.step is None:  # before training; the same messages during validation are not a new phase
            for pattern, phase in PHASES:
                if pattern.match(msg):
                    self.set_phase(phase, lineno)
                    break


def parse(lines: Iterable[str]) -> list[Event]:
    """Every event of a whole console capture."""
    return Parser().parse(lines)
