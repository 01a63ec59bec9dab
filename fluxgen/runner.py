"""Launch a trainer as a child process, stream its two outputs as they come, forward signals to its group.

The command is a pure function of the plan (`build_launch`); `ChildRun` is the small runner around it: the child
gets its own session (process group), its stdout and stderr are read by two threads, Ctrl-C, SIGTERM or SIGHUP (a
closed terminal) to fluxgen goes to the whole group, and after a grace period anything still alive in it is killed.
"""

from __future__ import annotations

import codecs
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fluxgen.plan import Plan

SECRET_WORDS = ("TOKEN", "KEY", "SECRET", "PASSWORD")
REDACTED = "***"
# Variables that change how a trainer behaves: recorded in command.json when set (their default is "unset").
RELEVANT_PREFIXES = ("CUDA_", "HF_", "HUGGINGFACE_", "PYTORCH_", "TORCH", "NCCL_", "ACCELERATE_", "TOKENIZERS_",
                     "OMP_", "MKL_", "FLUXGEN_", "XFORMERS", "TRANSFORMERS_", "DIFFUSERS_", "BITSANDBYTES",
                     "WANDB_", "NVIDIA_")
RELEVANT_NAMES = ("PYTHONPATH", "LD_LIBRARY_PATH", "VIRTUAL_ENV", "CONDA_PREFIX", "MODELS_PATH", "SEED",
                  "DEBUG_TOOLKIT", "COLUMNS", "PYTHONUNBUFFERED", "PYTHONIOENCODING")
_MIN_SECRET_LEN = 4  # shorter values ("1", "no") would redact ordinary text
# Signals that stop a run: Ctrl-C, a kill, a closed terminal. Each is forwarded to the trainer's process group.
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
USER_STOPS = tuple(s.name for s in HANDLED_SIGNALS)


@dataclass(frozen=True)
class Launch:
    """Everything needed to start the trainer: argv (a list, never a shell line), env overrides, working dir."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The child's environment: the current one plus fluxgen's overrides."""
        return {**(os.environ if base is None else base), **self.env}

    def record(self, base: Mapping[str, str] | None = None) -> dict[str, Any]:
        """command.json: argv, the variables fluxgen set or that differ from the defaults (secrets redacted), cwd."""
        return {"argv": list(self.argv), "env": recorded_env(self.env, base), "cwd": str(self.cwd)}


def build_launch(plan: Plan, run_dir: Path, trainer: Any = None, extra_args: Iterable[str] = ()) -> Launch:
    """The trainer command for a plan, run from the run folder; `extra_args` e.g. resume flags. Starts nothing."""
    from fluxgen.backends import get_backend

    launch = get_backend(plan.backend).command(plan, Path(run_dir), trainer=trainer)
    return Launch([*launch.argv, *extra_args], launch.env, launch.cwd)


def is_secret(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


def recorded_env(overrides: Mapping[str, str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """fluxgen's overrides plus the trainer-relevant variables that are set, with secret values as `***`."""
    base = os.environ if base is None else base
    picked = {k: v for k, v in base.items()
              if k.startswith(RELEVANT_PREFIXES) or k in RELEVANT_NAMES or is_secret(k)}
    picked.update(overrides)
    return {k: (REDACTED if is_secret(k) and v else v) for k, v in sorted(picked.items())}


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """Values that must never reach a file fluxgen writes: every secret-named variable's value, longest first."""
    env = os.environ if env is None else env
    values = {v for k, v in env.items() if is_secret(k) and len(v) >= _MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


# Tokens recognisable by their form wherever they come from (a LoRA's metadata, a log): Hugging Face, GitHub,
# OpenAI-style and Weights & Biases-style keys.
TOKEN_RE = re.compile(r"\b(?:hf_[A-Za-z0-9]{20,}|(?:ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{20,}"
                      r"|sk-[A-Za-z0-9_-]{20,}|api_key=[A-Za-z0-9]{20,})")


def make_redactor(env: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """A function that replaces every secret value (HF_TOKEN's first of all), and anything shaped like a token,
    in a text with `***`."""
    values = secret_values(env)

    def redact(text: str) -> str:
        for value in values:
            if value in text:
                text = text.replace(value, REDACTED)
        return TOKEN_RE.sub(REDACTED, text) if "_" in text or "-" in text else text

    return redact


def redact_all(data: Any, redact: Callable[[str], str] | None = None) -> Any:
    """The same data with every string (mapping keys included) redacted."""
    redact = redact or make_redactor()
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact_all(k, redact): redact_all(v, redact) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_all(v, redact) for v in data]
    return data


@dataclass
class Ended:
    """How the child ended: its exit code (negative: killed by that signal) and what fluxgen did to it."""

    exit_code: int
    pid: int
    stop_reason: str | None = None  # "SIGINT" / "SIGTERM" / "SIGHUP" (the user), or why fluxgen stopped it
    killed: bool = False  # fluxgen had to SIGKILL the group after the grace period
    started: float = 0.0
    ended: float = 0.0
    signals: list[str] = field(default_factory=list)


OutputHandler = Callable[[str, str], None]  # (stream name, decoded text)
TickHandler = Callable[[float], None]  # called with time.monotonic() at least every `tick` seconds


class ChildRun:
    """Run one launch to its end: stream its output to `on_output`, forward signals, leave no process behind."""

    def __init__(self, launch: Launch, on_output: OutputHandler, *, on_tick: TickHandler | None = None,
                 on_start: Callable[[int], None] | None = None, grace: float = 10.0, tick: float = 0.25,
                 orphan_grace: float = 5.0) -> None:
        self.launch, self.on_output, self.on_tick, self.on_start = launch, on_output, on_tick, on_start
        self.grace, self.tick, self.orphan_grace = grace, tick, orphan_grace
        self._inodes: set[int] = set()
        self._orphans_seen: dict[int, float] = {}
        self._last_scan = 0.0
        self._exited_at: float | None = None
        self._abandon = False
        self.ended_orphans: list[int] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self._queue: queue.Queue[tuple[str, bytes | None]] = queue.Queue()
        self._stop_reason: str | None = None
        self._stop_at: float | None = None
        self._killed = False
        self._signals: list[str] = []

    # -- control ---------------------------------------------------------------------------------------------
    def stop(self, reason: str, sig: int = signal.SIGINT) -> None:
        """Ask the trainer to stop (the signal goes to its whole group); after `grace` seconds it is killed."""
        if self._stop_reason is None:
            self._stop_reason, self._stop_at = reason, time.monotonic()
        self._signal_group(sig)

    def kill(self) -> None:
        self._killed = True
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        self._signals.append(signal.Signals(sig).name)
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self._stop_reason is not None and signum == signal.SIGINT and self._stop_reason in USER_STOPS:
            self.kill()  # a second Ctrl-C: do not wait any longer
            return
        # A closed terminal (SIGHUP) ends the run as SIGTERM would; the trainer, in its own session, never sees it.
        self.stop(signal.Signals(signum).name, signal.SIGTERM if signum == signal.SIGHUP else signum)

    # -- running ---------------------------------------------------------------------------------------------
    def run(self) -> Ended:
        started = time.monotonic()
        restore = self._install_handlers()
        try:
            self.proc = subprocess.Popen(
                self.launch.argv, cwd=str(self.launch.cwd), env=self.launch.environ(), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, bufsize=0)
            from fluxgen.proctree import pipe_inodes

            self._inodes = pipe_inodes([self.proc.stdout.fileno(), self.proc.stderr.fileno()])
            if self.on_start is not None:
                self.on_start(self.proc.pid)
            if self._stop_reason is not None:  # a signal came while the child was being started
                self._signal_group(signal.SIGINT)
            readers = [self._reader("stdout", self.proc.stdout), self._reader("stderr", self.proc.stderr)]
            self._pump(readers)
            code = self.proc.wait()
        finally:
            self._reap()
            restore()
        return Ended(code, self.proc.pid, self._stop_reason, self._killed, started, time.monotonic(), self._signals)

    def _reader(self, name: str, pipe: Any) -> threading.Thread:
        def read() -> None:
            fd = pipe.fileno()
            try:
                while chunk := os.read(fd, 65536):
                    self._queue.put((name, chunk))
            except OSError:
                pass
            finally:
                self._queue.put((name, None))

        thread = threading.Thread(target=read, name=f"fluxgen-{name}", daemon=True)
        thread.start()
        return thread

    def _pump(self, readers: list[threading.Thread]) -> None:
        """Deliver output until both streams end; kill leftovers once the trainer itself has exited."""
        decoders = {name: codecs.getincrementaldecoder("utf-8")(errors="replace") for name in ("stdout", "stderr")}
        open_streams = set(decoders)
        last_tick = 0.0
        while open_streams and not self._abandon:
            try:
                name, chunk = self._queue.get(timeout=self.tick)
            except queue.Empty:
                name, chunk = None, b""
            if name is not None and chunk is None:
                open_streams.discard(name)
                tail = decoders[name].decode(b"", final=True)
                if tail:
                    self.on_output(name, tail)
            elif name is not None:
                text = decoders[name].decode(chunk)
                if text:
                    self.on_output(name, text)
            now = time.monotonic()
            if now - last_tick >= self.tick:
                last_tick = now
                self._housekeeping(now)
        for thread in readers:
            thread.join(timeout=1.0)

    def _housekeeping(self, now: float) -> None:
        if self.on_tick is not None:
            self.on_tick(now)
        if self._stop_at is not None and not self._killed and now - self._stop_at >= self.grace:
            self.kill()
        if self.proc is not None and self.proc.poll() is not None:
            self._reap()  # the trainer is gone: whatever it left in its group holds our pipes open
            self._exited_at = self._exited_at or now
        if now - self._last_scan >= 1.0:
            self._last_scan = now
            self._end_orphans(now)

    def _end_orphans(self, now: float) -> None:
        """Processes the dead trainer left holding our pipes are ended after `orphan_grace` seconds (torch's
        workers leave by themselves within a few); if the pipes still do not close, stop reading them."""
        from fluxgen.proctree import orphans_holding

        if self.proc is None or not self._inodes:
            return
        found = orphans_holding(self.proc.pid, self._inodes)
        self._orphans_seen = {pid: self._orphans_seen.get(pid, now) for pid in found}
        for pid, since in self._orphans_seen.items():
            if now - since >= self.orphan_grace:
                self.ended_orphans.append(pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if self._exited_at is not None and now - self._exited_at >= self.orphan_grace + 3.0:
            self._abandon = True  # nothing we can end holds them: judge the run on what came
    def _reap(self) -> None:
        """No orphans: SIGKILL anything still alive in the trainer's process group."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _install_handlers(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {sig: signal.signal(sig, self._on_signal) for sig in HANDLED_SIGNALS}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore


def group_alive(pgid: int) -> bool:
    """Whether any process of a process group is still alive (zombies of other parents count as alive)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
