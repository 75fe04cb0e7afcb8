"""One base for the SQLite caches (annotation answers, run generations): open, WAL, schema, close.

Both caches are single files in WAL mode, created on first use, with their schema applied on
open; a file that is not a usable database is reported with its path, never a traceback.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from .errors import InputError


class SqliteFile:
    """A SQLite file holding ``schema`` (a script of CREATE ... IF NOT EXISTS); use as a context manager.

    ``autocommit`` opens the connection without implicit transactions (every statement commits);
    otherwise writers commit with ``with self._db:``. ``timeout``: seconds a writer waits for a lock.
    """

    #: How the file is named in errors ("annotation cache", "run cache").
    what = "cache"

    def __init__(self, path: str | Path, schema: str, *, autocommit: bool = False, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None if autocommit else "DEFERRED",
                                       check_same_thread=False, timeout=timeout)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(schema)
        except sqlite3.DatabaseError as err:
            raise InputError(f"not a usable {self.what}: {err}", source=self.path) from err

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
