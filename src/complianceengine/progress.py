"""What a long audit is doing, on a terminal while it runs.

The core reports its steps through a plain callback (:data:`Progress`: what it is doing, how far,
out of how many) and knows nothing of terminals: :func:`complianceengine.read_events` every
20,000 lines, :func:`complianceengine.audit` before planning and judging each obligation. The
command line passes a :class:`TerminalProgress`, which shows them with rich on standard error,
only on a terminal, only once the command has run for a second (a small audit shows nothing), and
removes the display when it ends; in a pipe, with ``--quiet`` or ``TERM=dumb`` it is silent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

__all__ = ["Progress", "TerminalProgress", "quiet"]

#: ``progress(what, done, total)``: the step under way ("judging dock-staff-daily-patrol"), how
#: much of it is done and out of how much (``None``: not known, e.g. lines of a file being read)
Progress = Callable[[str, int, "int | None"], None]


def quiet(what: str, done: int, total: int | None) -> None:
    """A :data:`Progress` that shows nothing (the default)."""


class TerminalProgress:
    """A :data:`Progress` shown on ``console`` (``None``: nowhere) once ``delay`` seconds have
    passed since it was made; a context manager that removes the display on the way out."""

    def __init__(self, console: Console | None, *, delay: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.console, self.delay, self.clock = console, delay, clock
        self.started = clock()
        self._shown: RichProgress | None = None
        self._task: TaskID | None = None

    def __call__(self, what: str, done: int, total: int | None) -> None:
        if self.console is None:
            return
        if self._shown is None:
            if self.clock() - self.started < self.delay:
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._shown = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                   TimeElapsedColumn(), console=self.console, transient=True,
                                   redirect_stdout=False, redirect_stderr=False)  # what a plugin prints stays where it goes
            self._shown.start()
            self._task = self._shown.add_task(what, total=total)
        assert self._task is not None
        if self._shown.tasks[0].total != total:  # rich's update keeps a total it is given None for: a new task
            self._shown.remove_task(self._task)
            self._task = self._shown.add_task(what, total=total, completed=done)
        self._shown.update(self._task, description=what, completed=done, refresh=True)

    def close(self) -> None:
        """Remove the display (it is transient: nothing stays on the terminal)."""
        if self._shown is not None:
            self._shown.stop()
            self._shown = None

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()
