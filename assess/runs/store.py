"""A SQLite cache of finished generations (and judge verdicts), so an interrupted run never repeats one.

Each entry is a JSON payload under a key that hashes everything that determines the answer
(subject, model, solver, prompt, generation settings). Every batch is committed as soon as it
is answered, with a ``spend`` row of the tokens it used; a crash loses at most the batch in flight.
Payloads are plain JSON: opening a cache never executes anything from it, and an entry that is not
a JSON object stops with a message naming the cache.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..sqlite import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spend (at REAL NOT NULL, entries INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,
                                  completion_tokens INTEGER NOT NULL);
"""


def cache_key(parts: dict[str, Any]) -> str:
    """A stable SHA-256 of JSON-serialisable ``parts`` (key order does not matter)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


class RunCache(SqliteFile):
    """Key → JSON payload, persisted in a SQLite file (WAL mode, one commit per ``put_many``)."""

    what = "run cache"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA, timeout=60)
        try:
            columns = [row[1] for row in self._db.execute("PRAGMA table_info(entries)")]
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise InputError(f"not a usable run cache ({err})", source=self.path) from err
        if columns != ["key", "payload"]:
            self._db.close()
            raise InputError("run cache has another layout (written by another version of assess?); "
                             "use a new cache file", source=self.path)

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The cached payloads among ``keys``."""
        found: dict[str, dict[str, Any]] = {}
        wanted = list(keys)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            try:
                rows = self._db.execute(f"SELECT key, payload FROM entries WHERE key IN ({marks})", chunk).fetchall()
            except sqlite3.DatabaseError as err:
                raise InputError(f"not a usable run cache ({err})", source=self.path) from err
            for key, payload in rows:
                found[key] = _checked_payload(key, payload, self.path)
        return found

    def put_many(self, entries: dict[str, dict[str, Any]]) -> None:
        """Store payloads and the tokens they used, and commit at once."""
        tokens = [sum(int(p.get(field) or 0) for p in entries.values())
                  for field in ("prompt_tokens", "completion_tokens")]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO entries (key, payload) VALUES (?, ?)",
                                 [(key, json.dumps(payload, ensure_ascii=False)) for key, payload in entries.items()])
            self._db.execute("INSERT INTO spend (at, entries, prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?)",
                             (time.time(), len(entries), *tokens))

    def spend(self) -> dict[str, int]:
        """Entries generated into this cache and the tokens they used, over every run."""
        entries, prompt, completion = self._db.execute(
            "SELECT COALESCE(SUM(entries), 0), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) "
            "FROM spend").fetchone()
        return {"entries": entries, "prompt_tokens": prompt, "completion_tokens": completion}

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])


def _checked_payload(key: str, text: str, path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except (ValueError, TypeError) as err:
        raise InputError(f"corrupt cache entry (key {key[:12]}…): not JSON ({err}); delete the cache file",
                         source=path) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("text", ""), str):
        raise InputError(f"corrupt cache entry (key {key[:12]}…): not a generation record; delete the cache file",
                         source=path)
    return payload
