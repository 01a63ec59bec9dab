"""Process pools whose workers never outlive fluxgen, and a SIGTERM/SIGHUP that unwinds like Ctrl-C.

A pool worker blocks on its task queue; if fluxgen is killed, nothing ever closes that queue and the worker waits
forever as an orphan. Each worker asks the kernel for SIGKILL when its parent dies (Linux) and also watches its
parent's pid (elsewhere), and a failed or interrupted pool is ended at once instead of finishing its queue.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when `parent` is gone, however it went."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="fluxgen-parent-watch", daemon=True).start()


@contextmanager
def worker_pool(count: int) -> Iterator[Any]:
    """A ProcessPoolExecutor whose workers die with fluxgen; an exception (Ctrl-C, SIGTERM) ends them at once."""
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=count, initializer=_die_with_parent, initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            proc.kill()
        for proc in processes:
            proc.join(timeout=5)
        raise
    pool.shutdown(wait=True)


@contextmanager
def stops_unwind() -> Iterator[None]:
    """SIGTERM and SIGHUP (a kill, a closed terminal) raise KeyboardInterrupt in the main thread, so temporary
    folders are removed and workers ended as for Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
