"""The data model: a battery of annotated instances and the outcomes of subjects on them.

Both are pandas DataFrames with a fixed set of columns; the ``validate_*`` functions are
the single gate every source passes through, so that every bad value is reported with
its file, row (1-based data row) or instance id, and column.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .scales import ANNOTATED, LEVEL_MAX, LEVEL_MIN, SCALES, UG, UG_MAX, UG_MIN

#: Text columns of a battery; only ``instance_id`` is mandatory, the others default to "".
TEXT_COLUMNS: tuple[str, ...] = ("instance_id", "benchmark", "task", "prompt", "target", "answer_format")
#: Annotation provenance: who rated the row, under which protocol and rubric version.
PROVENANCE_COLUMNS: tuple[str, ...] = ("annotator", "annotation_protocol", "rubric_hash")
BATTERY_COLUMNS: tuple[str, ...] = TEXT_COLUMNS + ANNOTATED + PROVENANCE_COLUMNS
OUTCOME_COLUMNS: tuple[str, ...] = ("subject", "instance_id", "correct", "raw_output")


def _first_rows(mask: pd.Series | np.ndarray, n: int = 1) -> list[int]:
    return [int(i) for i in np.flatnonzero(np.asarray(mask))[:n]]


def validate_battery(df: pd.DataFrame, source: str | Path = "<battery>") -> pd.DataFrame:
    """Check and normalise a battery table; return a new DataFrame in canonical column order.

    Missing annotation columns become NaN (never a default level); extra columns are kept
    after the canonical ones. Raises :class:`InputError` naming source, row and column.
    """
    if "instance_id" not in df.columns:
        raise InputError("missing required column", source=source, column="instance_id")
    out = df.copy().reset_index(drop=True)
    ids = out["instance_id"]
    missing_id = ids.isna() | (ids.astype(str).str.strip() == "")
    if missing_id.any():
        row = _first_rows(missing_id)[0]
        raise InputError("empty instance id", source=source, row=row + 1, column="instance_id")
    out["instance_id"] = ids.astype(str)
    dup = out["instance_id"].duplicated(keep=False)
    if dup.any():
        first = out.loc[dup, "instance_id"].iloc[0]
        rows = [r + 1 for r in _first_rows(out["instance_id"] == first, 2)]
        raise InputError(f"duplicate instance id (rows {rows[0]} and {rows[1]})", source=source,
                         row=rows[1], instance_id=first, column="instance_id")
    for col in TEXT_COLUMNS[1:] + PROVENANCE_COLUMNS:
        out[col] = out[col].astype(object).fillna("").astype(str) if col in out.columns else ""
    for col in ANNOTATED:
        out[col] = _levels(out, col, source)
    extras = [c for c in out.columns if c not in BATTERY_COLUMNS]
    return out[list(BATTERY_COLUMNS) + extras]


def _levels(df: pd.DataFrame, col: str, source: str | Path) -> pd.Series:
    """Parse one annotation column as float (NaN when missing) and check its range."""
    if col not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    raw = df[col]
    values = pd.to_numeric(raw, errors="coerce")
    garbled = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if garbled.any():
        row = _first_rows(garbled)[0]
        raise InputError(f"not a number: {str(raw.iloc[row])!r}", source=source, row=row + 1,
                         instance_id=df["instance_id"].iloc[row], column=col)
    lo, hi = (UG_MIN, UG_MAX) if col == UG else (LEVEL_MIN, LEVEL_MAX)
    bad = values.notna() & ((values < lo) | (values > hi))
    if bad.any():
        row = _first_rows(bad)[0]
        what = "unguessability" if col == UG else "level"
        raise InputError(f"{what} {values.iloc[row]:g} outside {lo:g}-{hi:g}", source=source, row=row + 1,
                         instance_id=df["instance_id"].iloc[row], column=col)
    return values.astype(float)


def validate_outcomes(
    df: pd.DataFrame,
    source: str | Path = "<outcomes>",
    battery: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Check and normalise a long outcome table (subject, instance_id, correct[, raw_output]).

    ``correct`` must be 0/1 (booleans and "true"/"false" accepted); a (subject, instance)
    pair may appear once; with a battery, every instance id must belong to it.
    """
    for col in ("subject", "instance_id", "correct"):
        if col not in df.columns:
            raise InputError("missing required column", source=source, column=col)
    out = df.copy().reset_index(drop=True)
    for col in ("subject", "instance_id"):
        empty = out[col].isna() | (out[col].astype(str).str.strip() == "")
        if empty.any():
            row = _first_rows(empty)[0]
            raise InputError(f"empty {col.replace('_', ' ')} (a missing value, not a name)", source=source,
                             row=row + 1, column=col)
    out["subject"] = out["subject"].astype(str)
    out["instance_id"] = out["instance_id"].astype(str)
    out["correct"] = _binary(out, source)
    out["raw_output"] = out["raw_output"].astype(object) if "raw_output" in out.columns else None
    dup = out.duplicated(["subject", "instance_id"], keep="first")
    if dup.any():
        row = _first_rows(dup)[0]
        raise InputError(f"duplicate outcome for subject {out['subject'].iloc[row]!r}", source=source,
                         row=row + 1, instance_id=out["instance_id"].iloc[row], column="instance_id")
    if battery is not None:
        unknown = ~out["instance_id"].isin(battery["instance_id"])
        if unknown.any():
            row = _first_rows(unknown)[0]
            raise InputError(f"outcome for an instance not in the battery ({int(unknown.sum())} such rows)",
                             source=source, row=row + 1, instance_id=out["instance_id"].iloc[row],
                             column="instance_id")
    extras = [c for c in out.columns if c not in OUTCOME_COLUMNS]
    return out[list(OUTCOME_COLUMNS) + extras]


_TRUE = {"1", "1.0", "true", "t", "yes", "y"}
_FALSE = {"0", "0.0", "false", "f", "no", "n"}


def parse_binary(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """0/1 ints for correctness values (1/0, true/false, yes/no, booleans) and a mask of the unreadable ones."""
    text = values.astype(str).str.strip().str.lower()
    ok_true, ok_false = text.isin(_TRUE), text.isin(_FALSE)
    return ok_true.astype(int), ~(ok_true | ok_false)


def _binary(df: pd.DataFrame, source: str | Path) -> pd.Series:
    """Map the ``correct`` column to int 0/1, rejecting anything else with its row."""
    parsed, bad = parse_binary(df["correct"])
    if bad.any():
        row = _first_rows(bad)[0]
        value = df["correct"].iloc[row]
        raise InputError(f"correct must be 0 or 1, got {getattr(value, 'item', lambda: value)()!r}", source=source,
                         row=row + 1, instance_id=str(df["instance_id"].iloc[row]), column="correct")
    return parsed


def join(battery: pd.DataFrame, outcomes: pd.DataFrame, subject: str | None = None) -> pd.DataFrame:
    """Outcomes (optionally of one subject) joined to their battery rows; one row per (subject, instance)."""
    if subject is not None:
        outcomes = outcomes[outcomes["subject"] == subject]
    return outcomes[["subject", "instance_id", "correct"]].merge(battery, on="instance_id", how="inner")


def demand_matrix(battery: pd.DataFrame, scales: tuple[str, ...] = SCALES) -> np.ndarray:
    """The (n_instances, n_scales) float matrix of levels, NaN where not annotated."""
    return battery.loc[:, list(scales)].to_numpy(dtype=float)
