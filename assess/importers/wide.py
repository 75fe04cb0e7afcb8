"""Read wide outcome matrices (0/1 cells) as log records, in either orientation.

``subjects-as-rows``: one row per subject (first column, or a ``subject``/``model`` column), one
column per instance id — the layout of many leaderboard dumps. ``instances-as-rows``: one row per
instance (``instance_id`` column, or the first), one column per subject. Empty cells mean "not
run" and are skipped; any other cell must read as 0/1 and is located by file row and column.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..battery import parse_score
from ..errors import InputError
from ..sources import SUBJECT_ALIASES, read_table
from .matching import RECORD_COLUMNS

Orientation = Literal["subjects-as-rows", "instances-as-rows"]


def read_wide(path: str | Path, orientation: Orientation = "subjects-as-rows") -> pd.DataFrame:
    """Records (see :mod:`.matching`) of a wide matrix: one per filled cell, its file row kept."""
    path = Path(path)
    table = read_table(path)
    if table.shape[1] < 2:
        raise InputError("a wide matrix needs a label column and at least one outcome column", source=path)
    if orientation == "subjects-as-rows":
        label = next((a for a in SUBJECT_ALIASES if a in table.columns), table.columns[0])
        names = ("subject", "record_id")
    elif orientation == "instances-as-rows":
        label = "instance_id" if "instance_id" in table.columns else table.columns[0]
        names = ("record_id", "subject")
    else:
        raise InputError(f"unknown orientation {orientation!r}; use subjects-as-rows or instances-as-rows",
                         source=path)
    long = table.melt(id_vars=[label], var_name="column", value_name="cell")
    long["row"] = np.tile(np.arange(1, len(table) + 1), table.shape[1] - 1)
    long = long[long["cell"].notna() & (long["cell"].astype(str).str.strip() != "")]
    cells, bad = parse_score(long["cell"])
    if bad.any():
        first = long[bad].iloc[0]
        raise InputError(f"cell is {first['cell']!r}, not 0/1 or a score in [0, 1]", source=path,
                         row=int(first["row"]), column=str(first["column"]))
    records = pd.DataFrame({names[0]: long[label].astype(str), names[1]: long["column"].astype(str),
                            "source": str(path), "row": long["row"], "task": "", "layout_id": "", "text": "",
                            "correct": cells, "raw_output": None})
    records["fields"] = [{"id": i} for i in records["record_id"]]
    return records.reindex(columns=list(RECORD_COLUMNS)).reset_index(drop=True)
