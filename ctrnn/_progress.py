"""Progress bars for long computations, shared by every analysis.

Inside ``with show_progress():`` every :class:`ProgressBar` (a solve over model time, a loop over networks, the sections
of a survey or an experiment) joins one live display, so nested work shows as nested bars; outside it, a bar
shows only where its caller asked for one (``progress=True``), and the bars nested in it join its display. A
bar is drawn only once its work has run for ``ProgressBar.delay`` seconds of wall time (or a bar nested in it is
drawn), so the many short solves inside an analysis never flicker, and it is redrawn at most every 0.1 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.console import Console
from rich.table import Column


class _Display:
    """One rich live display, started when its first bar is drawn."""

    def __init__(self, console: Console | None = None) -> None:
        # one line per bar on 80 columns: long labels and stages are cut, never wrapped
        label = Column(max_width=24, no_wrap=True, overflow="ellipsis")
        where = Column(no_wrap=True, overflow="ellipsis")
        self.progress = Progress(TextColumn("[bold]{task.description}", table_column=label), BarColumn(bar_width=12),
                                 TimeElapsedColumn(), TextColumn("{task.fields[where]}", table_column=where),
                                 console=console, transient=True)
        self.started = False

    def start(self) -> None:
        # only on a terminal: elsewhere (a pipe, a log file) rich would draw nothing but still print a blank line
        if not self.started and self.progress.console.is_terminal:
            self.started = True
            self.progress.start()

    def stop(self) -> None:
        if self.started:
            self.progress.stop()


_DISPLAY: ContextVar[_Display | None] = ContextVar("ctrnn_progress_display", default=None)
_OPEN: ContextVar[tuple[ProgressBar, ...]] = ContextVar("ctrnn_progress_open", default=())


@contextmanager
def show_progress(enabled: bool = True, *, console: Console | None = None) -> Iterator[None]:
    """Show a progress bar for each long computation run inside the block (nested work as nested bars).

    Arguments:
        enabled: ``False`` makes this a no-op (the CLI's ``--quiet``).
        console: where to draw (a ``rich.console.Console``; default: standard output, drawn only when it is a
            terminal, and removed when the block ends).

    Returns:
        a context manager; the block runs as it would without it.

    Example: ``with ctrnn.show_progress(): ctrnn.survey(model)`` shows the survey's sections and, under them,
    the Lyapunov spectrum's and the other analyses' own bars. Lines printed meanwhile appear above the bars.
    """
    if not enabled or _DISPLAY.get() is not None:
        yield
        return
    display = _Display(console)
    token = _DISPLAY.set(display)
    try:
        yield
    finally:
        display.stop()
        _DISPLAY.reset(token)


class ProgressBar:
    """Context manager: a bar from ``start`` to ``end``, moved by :meth:`update` (or :meth:`advance`).

    ``unit=None`` labels the position as model time (``t = 12.5 / 50``); a unit labels it as a count
    (``3 / 33 networks``); ``end=None`` is work of unknown length (a pulsing bar and the count so far).
    :meth:`stage` names the part under way (a survey's or an experiment's section).

    Arguments:
        description: what is being done (the bar's label).
        end: where the work ends (model time, or the count), or ``None`` if unknown.
        start: where it starts.
        unit: the count's unit, or ``None`` for model time.
        enabled: show it even outside :func:`show_progress` (the ``progress=True`` of the analyses).
    """

    delay = 0.5  # seconds of wall time before a bar is drawn

    def __init__(self, description: str, end: float | None, *, start: float = 0.0, unit: str | None = None,
                 enabled: bool = False):
        self.description, self.start, self.unit = description, float(start), unit
        self.end = None if end is None else float(end)
        self.enabled = enabled or _DISPLAY.get() is not None
        self._display: _Display | None = None
        self._own: Token[_Display | None] | None = None
        self._open: Token[tuple[ProgressBar, ...]] | None = None
        self._task: int | None = None
        self._value, self._stage, self._last, self._opened = float(start), "", 0.0, 0.0

    def __enter__(self) -> ProgressBar:
        self._opened = time.perf_counter()
        if self.enabled:
            if _DISPLAY.get() is None:  # asked for outside show_progress: the bars nested in this one join it
                self._own = _DISPLAY.set(_Display())
            self._display = _DISPLAY.get()
            self._open = _OPEN.set((*_OPEN.get(), self))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._display is None:
            return
        if self._task is not None:
            self._display.progress.remove_task(self._task)
            self._task = None
        if self._open is not None:
            _OPEN.reset(self._open)
        if self._own is not None:
            self._display.stop()
            _DISPLAY.reset(self._own)
        self._display = None

    def _where(self) -> str:
        if self.end is None:
            done = f"{self._value - self.start:.0f} {self.unit or ''} done".replace("  ", " ")
        elif self.unit is None:
            done = f"t = {self._value:.4g} / {self.end:.4g}"
        else:
            done = f"{self._value:.0f} / {self.end:.0f} {self.unit}"
        return f"{done} · {self._stage}" if self._stage else done

    def _total(self) -> float | None:
        return None if self.end is None else max(self.end - self.start, 1e-300)

    def _draw(self, force: bool = False) -> None:
        if self._display is None:
            return
        now = time.perf_counter()
        if not force and (now - self._last < 0.1 or (self._task is None and now - self._opened < self.delay)):
            return
        self._last = now
        label = self.description
        progress = self._display.progress
        if self._task is None:
            for outer in _OPEN.get():  # the bars this one is nested in are drawn first, above it
                if outer is self:
                    break
                if outer._task is None:
                    outer._draw(force=True)
            self._display.start()
            self._task = progress.add_task(label, total=self._total(), where=self._where())
        progress.update(self._task, description=label, total=self._total(),
                        completed=self._value - self.start, where=self._where())
        if force:  # a new stage is drawn now, not at the next tick of the display
            progress.refresh()

    def update(self, value: float) -> None:
        """Move the bar to ``value`` (model time, or the count done)."""
        self._value = float(value)
        self._draw()

    def advance(self, amount: float = 1.0) -> None:
        """Move the bar on by ``amount``."""
        self.update(self._value + amount)

    def note(self, text: str) -> None:
        """Show ``text`` beside the count (a loss, a score) from the next redraw on, without forcing one."""
        self._stage = text

    def stage(self, name: str, value: float | None = None) -> None:
        """Name the part now under way (and move the bar to ``value``); redrawn at once if the bar shows."""
        self._stage = name
        if value is not None:
            self._value = float(value)
        self._draw(force=self._task is not None)
