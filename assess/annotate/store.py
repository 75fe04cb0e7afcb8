"""The annotation cache: an embedded SQLite database in WAL mode, one row per answered request.

An answer is committed (its own transaction) before the engine counts it, so a ``kill -9`` at any
moment loses at most the requests then in flight. Rows are keyed by the request key (instance
content hash, scales, rubric hash, annotator, mode, prompt hash) and keep the raw text of every
attempt, tokens and timestamps for audit. Failures (no valid level after all repairs) are rows too,
with status ``failed`` and the raw text — never a level.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..sqlite import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    instance_hash TEXT NOT NULL,
    scales TEXT NOT NULL,
    mode TEXT NOT NULL,
    annotator TEXT NOT NULL,
    rubric_hash TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    levels TEXT,
    error TEXT,
    transcript TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    retries INTEGER NOT NULL,
    source TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    finished_at REAL NOT NULL,
    annotator TEXT NOT NULL,
    mode TEXT NOT NULL,
    summary TEXT NOT NULL
);
"""


@dataclass
class StoredAnswer:
    """One request's outcome: levels by scale when ``status == 'ok'``, else the error; raw texts in ``transcript``."""

    key: str
    instance_id: str
    instance_hash: str
    scales: tuple[str, ...]
    mode: str
    annotator: str
    rubric_hash: str
    prompt_hash: str
    status: str
    levels: dict[str, float] | None
    error: str | None
    #: Every attempt in order: {"text": raw answer, "problem": why it was refused or null}.
    transcript: list[dict[str, str | None]] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    source: str = "backend"
    created_at: float = field(default_factory=time.time)

    @property
    def attempts(self) -> int:
        return len(self.transcript)

    @property
    def raw_text(self) -> str:
        """The last raw answer."""
        return str(self.transcript[-1]["text"]) if self.transcript else ""


_COLUMNS = ("key", "instance_id", "instance_hash", "scales", "mode", "annotator", "rubric_hash", "prompt_hash",
            "status", "levels", "error", "transcript", "attempts", "prompt_tokens", "completion_tokens",
            "retries", "source", "created_at")


class AnnotationStore(SqliteFile):
    """Open (creating if needed) the cache at ``path``; use as a context manager or call :meth:`close`."""

    what = "annotation cache"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA, autocommit=True)

    def put(self, answer: StoredAnswer) -> None:
        """Commit one answer (replacing an earlier failure for the same key)."""
        values = {**answer.__dict__, "scales": ",".join(answer.scales),
                  "levels": json.dumps(answer.levels) if answer.levels is not None else None,
                  "transcript": json.dumps(answer.transcript, ensure_ascii=False), "attempts": answer.attempts}
        placeholders = ", ".join("?" for _ in _COLUMNS)
        self._db.execute(f"INSERT OR REPLACE INTO answers ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                         [values[c] for c in _COLUMNS])

    def get(self, keys: Iterable[str]) -> dict[str, StoredAnswer]:
        """The stored answers among ``keys``."""
        keys, found = list(keys), {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM answers WHERE key IN "
                                    f"({', '.join('?' for _ in chunk)})", chunk)
            for row in rows:
                answer = _answer(dict(zip(_COLUMNS, row)))
                found[answer.key] = answer
        return found

    def record_run(self, annotator: str, mode: str, summary: dict[str, object]) -> None:
        """Keep a run's closing summary (requests, hits, retries, failures, tokens, cost)."""
        self._db.execute("INSERT INTO runs (finished_at, annotator, mode, summary) VALUES (?, ?, ?, ?)",
                         (time.time(), annotator, mode, json.dumps(summary)))

    def runs(self) -> list[dict[str, object]]:
        rows = self._db.execute("SELECT run_id, finished_at, annotator, mode, summary FROM runs ORDER BY run_id")
        return [{"run_id": r[0], "finished_at": r[1], "annotator": r[2], "mode": r[3], **json.loads(r[4])}
                for r in rows]


def _answer(row: dict[str, object]) -> StoredAnswer:
    row.pop("attempts")
    return StoredAnswer(**{**row, "scales": tuple(str(row["scales"]).split(",")),
                           "levels": json.loads(str(row["levels"])) if row["levels"] is not None else None,
                           "transcript": json.loads(str(row["transcript"]))})
