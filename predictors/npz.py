"""Numeric arrays on disk without pickle: ``.npz`` written atomically, read back by :func:`predictors.safeio.load_npz`."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from assess.atomic import write_with


def save_npz(target: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """Atomically write ``arrays`` to ``target`` (object arrays are refused, so no pickle is ever written)."""
    for name, array in arrays.items():
        if np.asarray(array).dtype.hasobject:
            raise TypeError(f"array {name!r} holds Python objects; only numeric arrays are saved")

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    return write_with(target, write)
