"""Reading files named by users or found in saved artefacts: regular files only, bounded in size.

A path may turn out to be a directory, a FIFO or a symlink to ``/dev/zero``; reading one of those
would block or never end. Every error names the file and says what it is.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import InputError


def check_regular(path: str | Path) -> os.stat_result:
    """The stat of ``path`` (symlinks followed) if it is a regular file; InputError otherwise."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError("file not found", source=path) from None
    except OSError as err:
        raise InputError(f"cannot read file ({err.strerror})", source=path) from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a device, FIFO or socket"
        raise InputError(f"is {kind}, not a regular file", source=path)
    return info


def read_bytes(path: str | Path, limit: int) -> bytes:
    """The content of the regular file ``path``, refused when larger than ``limit`` bytes."""
    path = Path(path)
    if check_regular(path).st_size > limit:
        raise InputError(f"file larger than the {limit // 2 ** 20} MiB accepted here", source=path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped after the check
                raise InputError("is not a regular file", source=path)
            data = handle.read(limit + 1)
    except OSError as err:
        raise InputError(f"cannot read file ({err.strerror})", source=path) from None
    if len(data) > limit:
        raise InputError(f"file larger than the {limit // 2 ** 20} MiB accepted here", source=path)
    return data


def read_text(path: str | Path, limit: int) -> str:
    """:func:`read_bytes` decoded as UTF-8; other encodings get a message saying so."""
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text ({encoding_hint(data)}byte {err.start}: {err.reason}); "
                         "save the file as UTF-8", source=path) from None


def encoding_hint(head: bytes) -> str:
    """'UTF-16 encoded; ' when ``head`` looks like UTF-16 (a byte-order mark or NUL bytes), else ''."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4096]:
        return "looks UTF-16 encoded; "
    return ""
