"""Progress events of library code drawn for people: rich bars on a terminal, log lines otherwise."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from .progress import ProgressCallback, ProgressEvent

#: Off a terminal: one log line per this many percent of a task.
LOG_STEP_PERCENT = 10


@contextmanager
def progress_bars(console: Console, *, transient: bool = False) -> Iterator[ProgressCallback]:
    """A callback drawing one bar per task (on a terminal) or printing a line at every tenth of each task (elsewhere)."""
    bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=transient, disable=not console.is_terminal)
    tasks: dict[str, TaskID] = {}
    logged: dict[str, int] = {}
    started: dict[str, float] = {}

    def show(event: ProgressEvent) -> None:
        if event.message:
            console.print(f"{event.task}: {event.message}", highlight=False, markup=False)
            return
        if event.task not in tasks:
            tasks[event.task] = bars.add_task(event.task, total=event.total)
            started[event.task] = time.perf_counter()
        bars.update(tasks[event.task], completed=event.done, total=event.total)
        if not console.is_terminal and event.total:
            step = event.done * 100 // event.total // LOG_STEP_PERCENT
            if step > logged.get(event.task, -1):
                logged[event.task] = step
                console.print(_log_line(event, time.perf_counter() - started[event.task]), highlight=False)

    with bars:
        yield show


def _log_line(event: ProgressEvent, seconds: float) -> str:
    """``generated 40/80 (2.10/s)`` for a ``generating`` event: the task in the past tense, count and rate."""
    verb = event.task[:-3] + "ed" if event.task.endswith("ing") else event.task
    rate = f" ({event.done / seconds:.2f}/s)" if event.done and seconds > 0 else ""
    return f"{verb} {event.done}/{event.total}{rate}"
