"""Claims on cache keys, so that processes sharing one SQLite cache share the work instead of repeating it.

Before asking for a key a worker claims it: a row (key, owner, expiry) in a ``claims`` table of the
cache file, taken in an immediate transaction so two processes never both get it. Claims held by
another live owner are left alone; the caller waits for that owner's answer. A claim ends when
its answer is stored (:meth:`Leases.release`), when its lease runs out without being renewed, or
at once when its owner is a process on this machine that no longer exists (``kill -9``).
"""
from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import InputError

#: Seconds a claim lives without renewal (owners renew every third of it).
LEASE_S = 60.0
_HOST = socket.gethostname()


def _alive(owner: str) -> bool:
    """False only when ``owner`` names a process of this host that has exited."""
    host, _, rest = owner.partition("|")
    pid = rest.partition("|")[0]
    if host != _HOST or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Leases:
    """The claims table of the SQLite file ``path``, seen by one owner (this process and object)."""

    def __init__(self, path: str | Path, table: str = "claims", lease_s: float = LEASE_S) -> None:
        self.path, self.table, self.lease_s = Path(path), table, lease_s
        self.owner = f"{_HOST}|{os.getpid()}|{uuid.uuid4().hex}"
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=60, check_same_thread=False)
            # Claims are worth nothing after a crash (dead owners' claims are ignored), so no fsync per change.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {table} "
                             "(key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires REAL NOT NULL)")
        except sqlite3.DatabaseError as err:
            raise InputError(f"not a usable cache: {err}", source=self.path) from err

    def claim(self, keys: Sequence[str]) -> set[str]:
        """Claim every key of ``keys`` not held by another live owner; return the keys now ours."""
        now = time.time()
        ours: set[str] = set()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start:start + 500])
                marks = ",".join("?" * len(chunk))
                held = {key: (owner, expires) for key, owner, expires in self._db.execute(
                    f"SELECT key, owner, expires FROM {self.table} WHERE key IN ({marks})", chunk)}
                free = [k for k in chunk if k not in held or held[k][0] == self.owner or held[k][1] < now
                        or not _alive(held[k][0])]
                self._db.executemany(f"INSERT OR REPLACE INTO {self.table} (key, owner, expires) VALUES (?, ?, ?)",
                                     [(k, self.owner, now + self.lease_s) for k in free])
                ours.update(free)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return ours

    def renew(self) -> None:
        """Push back the expiry of every claim this owner holds."""
        self._db.execute(f"UPDATE {self.table} SET expires = ? WHERE owner = ?",
                         (time.time() + self.lease_s, self.owner))

    def release(self, keys: Iterable[str]) -> None:
        """Give up this owner's claims on ``keys`` (their answers are stored, or will not come), in one transaction."""
        rows = [(key, self.owner) for key in keys]
        if not rows:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(f"DELETE FROM {self.table} WHERE key = ? AND owner = ?", rows)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    async def keep_renewed(self) -> None:
        """Renew this owner's claims every third of a lease, until cancelled (run it as a task)."""
        while True:
            await asyncio.sleep(self.lease_s / 3)
            self.renew()

    def close(self) -> None:
        """Release every claim of this owner and close the connection."""
        try:
            self._db.execute(f"DELETE FROM {self.table} WHERE owner = ?", (self.owner,))
        finally:
            self._db.close()
