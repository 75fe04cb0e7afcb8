"""Errors that name where bad input came from: file, row (or instance id) and column."""
from __future__ import annotations

from pathlib import Path


class AssessError(Exception):
    """Base class for every error the library raises on purpose; the CLI turns it into a non-zero exit."""


class InputError(AssessError, ValueError):
    """Bad user input, located as precisely as the caller knows: file, row, instance id, column or key."""

    def __init__(
        self,
        message: str,
        *,
        source: str | Path | None = None,
        row: int | None = None,
        instance_id: str | None = None,
        column: str | None = None,
    ) -> None:
        self.reason = message
        self.source = str(source) if source is not None else None
        self.row = row
        self.instance_id = instance_id
        self.column = column
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.instance_id is not None:
            where.append(f"instance {self.instance_id!r}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        parts = [self.source] if self.source else []
        if where:
            parts.append(", ".join(where))
        return ": ".join(parts + [self.reason])
