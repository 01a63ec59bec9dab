"""The local executor: a pool of `fluxgen sweep run-point` children, one per GPU (`CUDA_VISIBLE_DEVICES`) or
`--max-parallel` at once on a CPU. Each child is its own session, so the terminal's Ctrl-C reaches only this
process, which passes it to every child (each stops its trainer and records the run as interrupted)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fluxgen.runs.sweep.point import point_command
from fluxgen.runs.sweep.state import read_sweep, write_sweep

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def visible_gpus() -> list[str]:
    """The GPUs a pool can hand out: CUDA_VISIBLE_DEVICES when set, else those `nvidia-smi -L` lists."""
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        return [d.strip() for d in given.split(",") if d.strip() and d.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def slots(devices: list[str], max_parallel: int | None) -> list[str | None]:
    """One slot per GPU (at most --max-parallel of them); on a CPU, --max-parallel slots (default 1)."""
    if devices:
        return list(devices[: max_parallel or len(devices)])
    return [None] * (max_parallel or 1)


class Pool:
    """Runs points in slots; `run` returns each point's exit status (130 for a point stopped by a signal)."""

    def __init__(self, sweep_dir: Path, slot_devices: list[str | None], echo: Callable[[str], None],
                 grace: float = 10.0):
        self.sweep_dir, self.free, self.echo, self.grace = Path(sweep_dir), list(slot_devices), echo, grace
        self.children: dict[str, tuple[subprocess.Popen, str | None]] = {}
        self.stopping, self.signals = 0.0, 0

    def _start(self, point_id: str) -> None:
        device = self.free.pop(0)
        env = dict(os.environ)
        if device is not None:
            env["CUDA_VISIBLE_DEVICES"] = device
        log = open(self.sweep_dir / "points" / f"{point_id}.log", "ab")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen(point_command(self.sweep_dir, point_id), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        self.children[point_id] = (proc, device)
        self._record(point_id, {"pid": proc.pid, "device": device, "started": time.time()})
        self.echo(f"{point_id}: started (pid {proc.pid}{f', GPU {device}' if device is not None else ''})")

    def _record(self, point_id: str, job: dict[str, Any]) -> None:
        data = read_sweep(self.sweep_dir)
        data.setdefault("jobs", {})[point_id] = {"executor": "local", **job}
        data["driver"] = {"pid": os.getpid(), "host": os.uname().nodename}
        write_sweep(self.sweep_dir, data)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.signals += 1
        self.stopping = self.stopping or time.monotonic()
        for proc, _ in self.children.values():
            _signal_group(proc, signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    def run(self, point_ids: list[str]) -> dict[str, int]:
        (self.sweep_dir / "points").mkdir(exist_ok=True)
        previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}
        codes: dict[str, int] = {}
        queue = list(point_ids)
        try:
            while queue or self.children:
                while queue and self.free and not self.stopping:
                    self._start(queue.pop(0))
                self._reap(codes)
                if self.stopping and time.monotonic() - self.stopping > self.grace + 20:
                    for proc, _ in self.children.values():
                        _signal_group(proc, signal.SIGKILL)
                if self.stopping and not self.children:
                    break
                time.sleep(0.2)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return codes

    def _reap(self, codes: dict[str, int]) -> None:
        for point_id, (proc, device) in list(self.children.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.children[point_id]
            self.free.append(device)
            codes[point_id] = 130 if code < 0 else code
            self._record(point_id, {"pid": proc.pid, "device": device, "exit_code": codes[point_id]})
            self.echo(f"{point_id}: ended (exit {codes[point_id]})")


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
