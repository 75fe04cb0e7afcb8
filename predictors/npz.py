"""Numeric arrays on disk without pickle: ``.npz`` written atomically, read with ``allow_pickle=False``."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from assess.atomic import write_with
from assess.errors import InputError


def save_npz(target: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """Atomically write ``arrays`` to ``target`` (object arrays are refused, so no pickle is ever written)."""
    for name, array in arrays.items():
        if np.asarray(array).dtype.hasobject:
            raise TypeError(f"array {name!r} holds Python objects; only numeric arrays are saved")

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    return write_with(target, write)


def load_npz(source: str | Path) -> dict[str, np.ndarray]:
    """Read every array of ``source``; a pickled (object) array is refused, never unpickled."""
    try:
        with np.load(source, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except ValueError as err:
        raise InputError(f"refusing to load pickled objects ({err})", source=source) from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise InputError(f"not a readable .npz array file ({err})", source=source) from None
