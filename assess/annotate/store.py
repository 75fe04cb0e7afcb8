"""The annotation cache: an embedded SQLite database in WAL mode, one row per answered request.

The answers one backend call returned are committed together (one transaction, with a ``spend``
row of the tokens and cost each answer added) before the engine counts them — a call's answers
arrive together, so this loses nothing that one commit per answer would keep — and a ``kill -9``
at any moment loses at most the requests then in flight, and the spend history counts every call that was paid for. Rows are keyed
by the request key (instance
content hash, scales, rubric hash, annotator, mode, prompt hash) and keep the raw text of every
attempt, tokens and timestamps for audit. Failures (no valid level after all repairs) are rows too,
with status ``failed`` and the raw text — never a level.

Rows read back are checked (known scales, levels in range, a well-formed transcript), so a
tampered or foreign cache stops with a message naming the cache and the entry.
"""
from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..backends import Price
from ..errors import InputError
from ..rubrics import CODE_PATTERN, KIND_RANGES
from ..scaleset import default_scale_set
from ..sqlite import SqliteFile

#: Range of a level whose scale is not a bundled one: any kind's (the cache does not know the active set).
_ANY_KIND = (min(r[0] for r in KIND_RANGES.values()), max(r[1] for r in KIND_RANGES.values()))

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
CREATE TABLE IF NOT EXISTS spend (
    at REAL NOT NULL,
    session TEXT NOT NULL,
    key TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost REAL
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
        self.session = uuid.uuid4().hex
        try:
            columns = [row[1] for row in self._db.execute("PRAGMA table_info(answers)")]
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise InputError(f"not a usable annotation cache: {err}", source=self.path) from err
        if tuple(columns) != _COLUMNS:
            self._db.close()
            raise InputError("annotation cache has another layout (written by another version of assess?); "
                             "use a new --cache file", source=self.path)

    def put(self, answer: StoredAnswer, previous: StoredAnswer | None = None, price: Price | None = None) -> None:
        """Commit one answer (replacing ``previous``, an earlier failure for the same key) and what it cost."""
        self.put_many([(answer, previous)], price)

    def put_many(self, entries: Sequence[tuple[StoredAnswer, StoredAnswer | None]], price: Price | None = None) -> None:
        """Commit (answer, previous) pairs that arrived together, with their spend rows, in one transaction."""
        placeholders = ", ".join("?" for _ in _COLUMNS)
        answers, spends, now = [], [], time.time()
        for answer, previous in entries:
            values = {**answer.__dict__, "scales": ",".join(answer.scales),
                      "levels": json.dumps(answer.levels) if answer.levels is not None else None,
                      "transcript": json.dumps(answer.transcript, ensure_ascii=False), "attempts": answer.attempts}
            answers.append([values[c] for c in _COLUMNS])
            spends.append((now, self.session, answer.key, *call_spend(previous, answer, price)))
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(f"INSERT OR REPLACE INTO answers ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                                 answers)
            self._db.executemany("INSERT INTO spend (at, session, key, prompt_tokens, completion_tokens, cost) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", spends)

    def spend(self) -> dict[str, float | int | None]:
        """Every call recorded in this cache: count, tokens and cost (None when no call had a price)."""
        calls, prompt, completion, cost = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), SUM(cost) "
            "FROM spend").fetchone()
        return {"calls": calls, "prompt_tokens": prompt, "completion_tokens": completion, "cost": cost}

    def get(self, keys: Iterable[str]) -> dict[str, StoredAnswer]:
        """The stored answers among ``keys``."""
        keys, found = list(keys), {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            try:
                rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM answers WHERE key IN "
                                        f"({', '.join('?' for _ in chunk)})", chunk).fetchall()
            except sqlite3.DatabaseError as err:
                raise InputError(f"not a usable annotation cache: {err}", source=self.path) from err
            for row in rows:
                answer = _answer(dict(zip(_COLUMNS, row)), self.path)
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


def call_spend(before: StoredAnswer | None, after: StoredAnswer, price: Price | None) -> tuple[int, int, float | None]:
    """Prompt tokens, completion tokens and cost that the call turning ``before`` into ``after`` added."""
    prompt = after.prompt_tokens - (before.prompt_tokens if before else 0)
    completion = after.completion_tokens - (before.completion_tokens if before else 0)
    return prompt, completion, price.cost(prompt, completion) if price is not None else None


def _answer(row: dict[str, object], path: Path) -> StoredAnswer:
    """One stored row as a :class:`StoredAnswer`, refused (naming the entry) unless it is well formed."""
    row.pop("attempts")
    try:
        scales = tuple(str(row["scales"]).split(","))
        levels = json.loads(str(row["levels"])) if row["levels"] is not None else None
        transcript = json.loads(str(row["transcript"]))
        _check_entry(scales, str(row["status"]), levels, transcript)
    except ValueError as err:
        raise InputError(f"corrupt cache entry for instance {str(row['instance_id'])[:80]!r} "
                         f"(key {str(row['key'])[:12]}…): {err}; delete the cache file (or that row) and annotate again",
                         source=path) from None
    return StoredAnswer(**{**row, "scales": scales, "levels": levels, "transcript": transcript})


def _check_entry(scales: tuple[str, ...], status: str, levels: object, transcript: object) -> None:
    unknown = [s for s in scales if not re.match(CODE_PATTERN, s)]
    if unknown:
        raise ValueError(f"unknown scale(s) {', '.join(unknown)[:80]}")
    bundled = default_scale_set()
    if not isinstance(transcript, list) or not all(isinstance(t, dict) and isinstance(t.get("text"), str)
                                                   for t in transcript):
        raise ValueError("transcript is not a list of attempts")
    if status == "ok" and not isinstance(levels, dict):
        raise ValueError("an answered entry without levels")
    for code, level in (levels or {}).items():
        low, high = (bundled[code].minimum, bundled[code].maximum) if code in bundled.codes else _ANY_KIND
        if code not in scales or isinstance(level, bool) or not isinstance(level, (int, float)) \
                or not low <= level <= high:
            raise ValueError(f"level {str(level)[:20]} for {str(code)[:20]} is not a level of this entry "
                             f"(range {low:g}-{high:g})")
