"""A SQLite cache of finished generations (and judge verdicts), so an interrupted run never repeats one.

Each entry is a JSON payload under a key that hashes everything that determines the answer
(subject, model, solver, prompt, generation settings). Every batch is committed as soon as it
is answered; a crash loses at most the batch in flight. Payloads are plain JSON: opening a
cache never executes anything from it.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..sqlite import SqliteFile

_SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, payload TEXT NOT NULL)"


def cache_key(parts: dict[str, Any]) -> str:
    """A stable SHA-256 of JSON-serialisable ``parts`` (key order does not matter)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


class RunCache(SqliteFile):
    """Key → JSON payload, persisted in a SQLite file (WAL mode, one commit per ``put_many``)."""

    what = "run cache"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA)

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The cached payloads among ``keys``."""
        found: dict[str, dict[str, Any]] = {}
        wanted = list(keys)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, payload in self._db.execute(f"SELECT key, payload FROM entries WHERE key IN ({marks})", chunk):
                found[key] = json.loads(payload)
        return found

    def put_many(self, entries: dict[str, dict[str, Any]]) -> None:
        """Store payloads and commit at once."""
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO entries (key, payload) VALUES (?, ?)",
                                 [(key, json.dumps(payload, ensure_ascii=False)) for key, payload in entries.items()])

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
