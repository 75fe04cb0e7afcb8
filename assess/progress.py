"""Progress reports from library code: a plain callback, so the library never draws anything itself.

Long operations (annotation, subject runs, assessor evaluation) take ``progress``, a callable
receiving :class:`ProgressEvent` values; ``None`` reports nothing. The CLI turns events into
rich bars on a terminal and log lines otherwise (:mod:`assess.cli_progress`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """``done`` of ``total`` units of ``task`` finished; or, with ``message``, a note about the task."""

    task: str
    done: int = 0
    total: int = 0
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


def report(progress: ProgressCallback | None, task: str, done: int = 0, total: int = 0, message: str = "") -> None:
    """Send one event to ``progress`` (nothing when it is None)."""
    if progress is not None:
        progress(ProgressEvent(task, done, total, message))
