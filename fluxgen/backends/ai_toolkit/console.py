"""Read Ostris ai-toolkit's console: plain prints on stdout, tqdm bars on stderr (or both in one stream).

Formats are the ones observed at the pinned commit (reference ai-toolkit.md §4-5, the ai-toolkit captures).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from fluxgen.events import Event
from fluxgen.monitor.common import ConsoleParser, any_of
from fluxgen.monitor.tqdm import parse_bar

NAME = "ai-toolkit"
_STEP_FILE_RE = re.compile(r"_(\d{9})(?:\.\w+)?$")
# Bars that are not the training bar (its description is the job name, printed on stdout).
_OTHER_BARS = ("loading", "caching", "generating", "fetching", "downloading", "quantizing", "saving")
_LOADING_RE = re.compile(
    r"^(?:Loading (?:Flux model|transformer|VAE|T5|CLIP)|Quantizing |Making pipe|Preparing Model)"
)
_CACHING_RE = re.compile(r"^(?:Caching latents for|Caching text embeddings)")
_SAMPLING_RE = re.compile(
    r"^Generating (?:baseline samples before training|first sample from first sample config)"
)
_LINE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("job", re.compile(r"^# Running job: (.+?)\s*$")),
    ("saving", re.compile(r"^Saving at step (\d+)")),
    ("saved", re.compile(r"^Saved checkpoint to (.+?)\s*$")),
    ("resuming", re.compile(r"^#### IMPORTANT RESUMING FROM (.+?) ####")),
    ("found_step", re.compile(r"^Found step (\d+) in metadata")),
    ("job_error", re.compile(r"^Error running job: (.*)$")),
    ("stopped", re.compile(r"^Job stopped\b")),
    ("oom_skip", re.compile(r"OOM during training step, skipping batch (\d+)/(\d+)")),
    ("nan", re.compile(r"^loss is (nan|inf)", re.I)),
    (
        "warn",
        re.compile(
            r"^(?:Could not save optimizer|Failed to load optimizer state|Failed to quantize"
            r"|Loss \S+ is greater than max loss).*"
        ),
    ),
)

_ANY_RULE = any_of(p for _, p in _LINE_RULES)


class Parser(ConsoleParser):
    """ai-toolkit's console as events; one instance per stream (stdout, stderr, or both merged)."""

    BACKEND = "ai-toolkit"

    def __init__(self) -> None:
        super().__init__()
        self.job_name: str | None = None
        self.resumed_from: int | None = None
        self._resume_path: str | None = None
        self._config_lines: list[str] | None = None
        self._sample_bar_done = False

    def handle(self, lineno: int, text: str) -> None:
        if self._config_lines is not None and self._config_line(text):
            return
        bar = parse_bar(text) if "%|" in text else None
        if bar is not None:
            self._bar(lineno, bar)
            return
        stripped = text.strip()
        if stripped == "{" and self.total is None and self.phase is None:
            self._config_lines = [text]
        elif _LOADING_RE.match(stripped):
            self.set_phase("loading", lineno)
        elif _CACHING_RE.match(stripped):
            self.set_phase("caching", lineno)
        elif _SAMPLING_RE.match(stripped):
            self.set_phase("sampling", lineno, self.step or self.resumed_from or 0)
        elif _ANY_RULE.search(stripped):
            for kind, pattern in _LINE_RULES:
                m = pattern.search(stripped)
                if m:
                    getattr(self, f"_on_{kind}")(lineno, m)
                    return
        else:
            self.scan(lineno, stripped)

    # -- line kinds --------------------------------------------------------------------------------------
    def _on_job(self, lineno: int, m: re.Match[str]) -> None:
        self.job_name = m[1]

    def _on_saving(self, lineno: int, m: re.Match[str]) -> None:
        self.set_phase("saving", lineno, int(m[1]))

    def _on_saved(self, lineno: int, m: re.Match[str]) -> None:
        path = m[1]
        found = _STEP_FILE_RE.search(path)
        final = found is None
        step = int(found[1]) if found else (self.total if self.total is not None else self.step)
        self.set_phase("saving", lineno, step)
        self.emit("checkpoint", lineno, path=path, step=step, total=self.total, final=final or None)

    def _on_resuming(self, lineno: int, m: re.Match[str]) -> None:
        self._resume_path = m[1]

    def _on_found_step(self, lineno: int, m: re.Match[str]) -> None:
        self.resumed_from = int(m[1])
        self.emit("resume", lineno, step=self.resumed_from, path=self._resume_path)

    def _on_job_error(self, lineno: int, m: re.Match[str]) -> None:
        self.error(lineno, m[1].strip())

    def _on_stopped(self, lineno: int, m: re.Match[str]) -> None:
        self.warning(lineno, "Job stopped (interrupted with Ctrl-C / SIGINT)", "interrupted")

    def _on_oom_skip(self, lineno: int, m: re.Match[str]) -> None:
        self.warning(
            lineno, f"out of memory during a training step, batch skipped ({m[1]}/{m[2]})", "oom_skipped"
        )

    def _on_nan(self, lineno: int, m: re.Match[str]) -> None:
        self.warning(lineno, f"loss is {m[1].lower()}; the trainer zeroed it for this step", "nan_loss")

    def _on_warn(self, lineno: int, m: re.Match[str]) -> None:
        self.warning(lineno, m[0])

    # -- bars and the config dump ------------------------------------------------------------------------
    def _bar(self, lineno: int, bar) -> None:
        desc = bar.desc.lower()
        if desc == "generating images":
            if bar.n == 0:
                self._sample_bar_done = False
                self.set_phase("sampling", lineno, self.step or self.resumed_from or 0)
            elif bar.n >= bar.total and not self._sample_bar_done:
                self._sample_bar_done = True
                self.emit("sample", lineno, step=self.step or self.resumed_from or 0)
        elif desc.startswith("caching"):
            self.set_phase("caching", lineno)
        elif desc.startswith("loading"):
            self.set_phase("loading", lineno)
        elif self._is_training_bar(bar, desc):
            self.training_bar(lineno, bar)

    def _is_training_bar(self, bar, desc: str) -> bool:
        if self.job_name is not None:
            return bar.desc == self.job_name
        if bar.lr is not None or bar.loss is not None:  # only the training bar shows lr and loss
            self.job_name = bar.desc
            return True
        return bool(desc) and not desc.startswith(_OTHER_BARS)

    def _config_line(self, text: str) -> bool:
        """The process config printed as JSON at start-up: it gives the planned number of steps."""
        closing = text.rstrip() == "}"
        if not closing and not text[:1].isspace():  # not JSON after all (or cut short): read it as usual
            self._config_lines = None
            return False
        self._config_lines.append(text)
        if not closing:
            return True
        try:
            config = json.loads("\n".join(self._config_lines))
        except ValueError:
            config = {}
        steps = config.get("train", {}).get("steps") if isinstance(config, dict) else None
        if isinstance(steps, int) and steps > 0:
            self.total = steps
        self._config_lines = None
        return True


def parse(lines: Iterable[str]) -> list[Event]:
    """All events of one ai-toolkit console stream."""
    return Parser().parse(lines)
