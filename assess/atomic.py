"""Atomic file writes: write to a temporary file beside the target, fsync, then rename over it.

A crash mid-write leaves either the old file or the new one, never half of one.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on clean exit it replaces ``target`` atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix or ".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(target: str | Path, data: bytes) -> Path:
    """Atomically write ``data`` to ``target``."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text(target: str | Path, text: str) -> Path:
    """Atomically write UTF-8 ``text`` to ``target``."""
    return write_bytes(target, text.encode("utf-8"))


def write_json(target: str | Path, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON (NaN becomes null)."""
    return write_text(target, json.dumps(_finite(obj), indent=2, allow_nan=False, default=_json_default) + "\n")


def write_with(target: str | Path, writer: Callable[[Path], None]) -> Path:
    """Atomically produce ``target`` by calling ``writer(tmp_path)`` (e.g. ``df.to_parquet``, ``fig.savefig``)."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


#: Suffixes :func:`write_table` understands.
TABLE_SUFFIXES = (".csv", ".parquet")


def write_table(frame: Any, target: str | Path) -> Path:
    """Atomically write a pandas DataFrame as CSV or Parquet, chosen by the file suffix (no index)."""
    target = Path(target)
    suffix = target.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        from .errors import InputError

        raise InputError(f"output must end in {' or '.join(TABLE_SUFFIXES)}", source=target)
    if suffix == ".parquet":
        return write_with(target, lambda tmp: frame.to_parquet(tmp, index=False))
    return write_with(target, lambda tmp: frame.to_csv(tmp, index=False))


def _finite(obj: Any) -> Any:
    """Replace non-finite floats by None, recursively, so the JSON stays standard."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(value) for value in obj]
    if hasattr(obj, "item") and getattr(obj, "ndim", 0) == 0:
        return _finite(obj.item())
    return obj


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
