"""A rich progress bar for long dataset work: done/total, images per second and the time left."""

from __future__ import annotations

from typing import Any


class ImageProgress:
    """start(total, what) / advance(n) / stop(); draws on stderr only when it is a terminal."""

    def __init__(self, console: Any = None) -> None:
        self._console = console
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: int, what: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        console = self._console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=console, transient=False,
            disable=not console.is_terminal)
        self._progress.start()
        self._task = self._progress.add_task(what, total=total, rate="")

    def advance(self, count: int) -> None:
        if self._progress is None:
            return
        self._progress.advance(self._task, count)
        speed = self._progress.tasks[0].speed
        self._progress.update(self._task, rate=f"{speed:.2f} images/s" if speed else "")

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
