"""An output folder written as one generation: a killed run never leaves a mix that looks complete.

Files are first written into a staging folder inside the output folder. Committing removes the
old manifest (so from then on the folder counts as out of date), moves every staged file into
place and moves the new manifest in last. A run killed at any point leaves either the previous
generation with its manifest, or files without a manifest, which the next run recomputes; that
run also removes staging folders and temporary files left by the killed one.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError

STAGING_PREFIX = ".generation-"


def prepare(output_dir: Path, manifest: str, names: tuple[str, ...]) -> Path:
    """Check ``output_dir`` can hold outputs and clear what a killed run left there; InputError otherwise."""
    if output_dir.exists() and not output_dir.is_dir():
        raise InputError("output_dir is a file, not a folder", source=output_dir, column="output_dir")
    if (output_dir / manifest).is_dir():
        raise InputError(f"{manifest} is a directory; remove it (the manifest is a file assess writes)",
                         source=output_dir / manifest)
    if not output_dir.is_dir():
        return output_dir
    for entry in output_dir.iterdir():
        leftover_temp = any(entry.name.startswith(f".{name}.") for name in names + (manifest,))
        if entry.name.startswith(STAGING_PREFIX) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        elif leftover_temp and entry.is_file():
            entry.unlink(missing_ok=True)
    return output_dir


@contextmanager
def generation(output_dir: Path, manifest: str) -> Iterator[Path]:
    """Yield a staging folder; on clean exit its files replace those of ``output_dir``, ``manifest`` last."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        staging = output_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        staging.mkdir()
    except OSError as err:
        raise _write_error(err, output_dir) from None
    try:
        yield staging
        staged = sorted(p.name for p in staging.iterdir() if p.name != manifest)
        (output_dir / manifest).unlink(missing_ok=True)
        _sync_dir(output_dir)
        for name in staged:
            os.replace(staging / name, output_dir / name)
        if (staging / manifest).exists():
            os.replace(staging / manifest, output_dir / manifest)
        _sync_dir(output_dir)
    except OSError as err:
        raise _write_error(err, output_dir) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_error(err: OSError, output_dir: Path) -> InputError:
    return InputError(f"cannot write outputs ({err.strerror or err})", source=err.filename or output_dir,
                      column="output_dir")


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
