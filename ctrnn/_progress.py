"""A progress bar over model time for long solves, updated at most every 0.1 s of wall time."""

from __future__ import annotations

import time

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class TimeProgress:
    """Context manager: ``update(t)`` moves a bar from ``t0`` to ``t1`` (model time units)."""

    def __init__(self, t0: float, t1: float, description: str = "simulating", *, enabled: bool = True):
        self.t0, self.t1, self.enabled = t0, t1, enabled
        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                             TextColumn("t = {task.fields[now]:.4g} / {task.fields[end]:.4g}"),
                             TimeElapsedColumn(), TimeRemainingColumn(), transient=True)
        self._task = self._bar.add_task(description, total=t1 - t0, now=t0, end=t1)
        self._last = 0.0

    def __enter__(self) -> TimeProgress:
        if self.enabled:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.stop()

    def update(self, t: float) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last > 0.1:
            self._last = now
            self._bar.update(self._task, completed=t - self.t0, now=t)
