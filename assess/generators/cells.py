"""The battery layout the parameterised generators share: ``n`` items per cell of two parameter grids."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product

import numpy as np


def cell_rows(first: Sequence[int], second: Sequence[int], n: int, seed: int,
              make: Callable[[np.random.Generator, int, int, int], dict]) -> list[dict]:
    """``make(rng, a, b, i)`` for i < ``n`` in every (a, b) cell, cells in grid order.

    Each cell draws from its own generator seeded by (``seed``, a, b), so adding or removing cells
    never changes the items of another.
    """
    rows = []
    for a, b in product(first, second):
        rng = np.random.default_rng([seed, a, b])
        rows += [make(rng, a, b, i) for i in range(n)]
    return rows
