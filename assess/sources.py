"""Readers that turn files into validated batteries and outcome tables.

Formats: CSV/TSV, JSON Lines and Parquet (by file suffix). Layouts: the ADeLe v1.0 battery CSV
(``groundtruth`` for the target), any table with a column mapping, per-subject outcome files
(``instance_id, correct``), long outcome tables (subject or model, instance, correct) and wide
matrices (one row per subject, one column per instance). Outcomes may be graded: ``correct`` a
score in [0, 1] in every layout, or ``successes`` and ``trials`` columns in the long and
per-subject layouts.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .battery import COUNT_COLUMNS, OUTCOME_COLUMNS, Battery, battery_columns, parse_score, validate_battery, validate_outcomes
from .errors import InputError
from .files import check_regular, encoding_hint
from .scaleset import ScaleSet

SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
#: Column names of the ADeLe v1.0 layout that differ from ours.
ADELE_RENAMES = {"groundtruth": "target"}
SUBJECT_ALIASES = ("subject", "model", "model_name")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, TSV, JSONL or Parquet file as strings-where-text; errors name the file and line."""
    path = Path(path)
    check_regular(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"unsupported file type {path.suffix!r}; use one of {', '.join(sorted(SUFFIXES))}", source=path)
    try:
        return _read_kind(path, kind)
    except OSError as err:
        raise InputError(f"cannot read file ({err.strerror or err})", source=path) from None


def _read_kind(path: Path, kind: str) -> pd.DataFrame:
    if kind != "parquet":
        with open(path, "rb") as handle:
            hint = encoding_hint(handle.read(4096))
        if hint:
            raise InputError(f"not UTF-8 text ({hint}save the file as UTF-8)", source=path)
    if kind == "parquet":
        try:
            return pd.read_parquet(path)
        except Exception as err:  # pyarrow raises several types for corrupt files
            raise InputError(f"not a readable Parquet file ({err})", source=path) from err
    if kind == "jsonl":
        return _read_jsonl(path)
    try:
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",", dtype={"instance_id": str}, keep_default_na=True)
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text (byte {err.start}: {err.reason}); save the file as UTF-8", source=path) from err
    except pd.errors.ParserError as err:
        raise InputError(f"malformed {kind.upper()} ({err})", source=path) from err
    except pd.errors.EmptyDataError as err:
        raise InputError("empty file", source=path) from err


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed value) for each non-blank line; malformed JSON names file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read file ({err})", source=path) from err
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield line_no, json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"line {line_no}: malformed JSON ({err.msg})", source=path) from err


def _read_jsonl(path: Path) -> pd.DataFrame:
    records = []
    for line_no, record in iter_jsonl(path):
        if not isinstance(record, dict):
            raise InputError(f"line {line_no}: expected a JSON object", source=path)
        records.append(record)
    return pd.DataFrame.from_records(records)


def _apply_mapping(df: pd.DataFrame, mapping: Mapping[str, str] | None, allowed: tuple[str, ...], path: Path) -> pd.DataFrame:
    """Rename file columns to ours; ``mapping`` is {our column: file column}."""
    if not mapping:
        return df
    for ours, theirs in mapping.items():
        if ours not in allowed:
            raise InputError(f"column mapping names unknown field {ours!r}; known: {', '.join(allowed)}", source=path)
        if theirs not in df.columns:
            raise InputError(f"column mapping for {ours!r} names column {theirs!r}, which the file lacks", source=path)
    return df.rename(columns={theirs: ours for ours, theirs in mapping.items()})


def read_battery(path: str | Path, mapping: Mapping[str, str] | None = None,
                 scales: ScaleSet | None = None) -> pd.DataFrame:
    """Read and validate a battery under a scale set (default: bundled; ADeLe layout detected by ``groundtruth``)."""
    path = Path(path)
    df = read_table(path)
    if "groundtruth" in df.columns and "target" not in df.columns:
        df = df.rename(columns=ADELE_RENAMES)
    df = _apply_mapping(df, mapping, battery_columns(scales), path)
    return validate_battery(df, path, scales)


def read_outcomes(
    path: str | Path,
    *,
    subject: str | None = None,
    layout: str = "auto",
    mapping: Mapping[str, str] | None = None,
    battery: pd.DataFrame | Battery | None = None,
) -> pd.DataFrame:
    """Read and validate outcomes in ``long``, ``per-subject`` or ``wide`` layout (``auto`` guesses); ``assess.read_outcomes``.

    With a ``battery`` (a table or :class:`~assess.battery.Battery`), every instance must belong to it.

    A per-subject file (``instance_id, correct`` or ``instance_id, successes, trials``) takes
    ``subject`` or, failing that, the file stem. In a wide matrix, empty cells mean "not run" and
    are dropped; the others are 0/1 or scores in [0, 1]. ``mapping`` is {our column: file column}
    (``outcomes_mapping`` in model.yaml), applied before the layout is guessed.
    """
    path = Path(path)
    battery = battery.table if isinstance(battery, Battery) else battery
    df = _apply_mapping(read_table(path), mapping, OUTCOME_COLUMNS + COUNT_COLUMNS, path)
    layout = _guess_layout(df, path, battery) if layout == "auto" else layout
    if layout == "long":
        alias = next((a for a in SUBJECT_ALIASES if a in df.columns), None)
        if alias is None:
            raise InputError(f"long outcome table needs one of the columns {', '.join(SUBJECT_ALIASES)}", source=path)
        df = df.rename(columns={alias: "subject"})
    elif layout == "per-subject":
        df = df.assign(subject=subject or path.stem)
    elif layout == "wide":
        df = _melt_wide(df, path, battery)
    else:
        raise InputError(f"unknown outcome layout {layout!r}; use long, per-subject or wide", source=path)
    return validate_outcomes(df, path, battery)


def _guess_layout(df: pd.DataFrame, path: Path, battery: pd.DataFrame | None) -> str:
    """``long``, ``per-subject`` or ``wide``; a table that is half of a long one is named by the column it lacks."""
    has_subject = any(a in df.columns for a in SUBJECT_ALIASES)
    if "correct" in df.columns or set(COUNT_COLUMNS) <= set(df.columns):
        return "long" if has_subject else "per-subject"
    if "instance_id" in df.columns:
        kind = "long" if has_subject else "per-subject"
        raise InputError(f"{kind} outcome table lacks the column 'correct' (columns: {', '.join(map(str, df.columns))}); "
                         "name yours with outcomes_mapping, e.g. {correct: is_correct}", source=path, column="correct")
    if battery is not None:
        ids = set(battery["instance_id"])
        cells = [c for c in df.columns[1:] if c not in SUBJECT_ALIASES]
        if cells and not any(str(c) in ids for c in cells):
            raise InputError("not a long or per-subject outcome table (no 'instance_id' and 'correct' columns) and "
                             f"not a wide matrix (none of its columns is a battery instance id; columns: "
                             f"{', '.join(map(str, df.columns[:8]))}); name your columns with outcomes_mapping",
                             source=path)
    return "wide"


def _melt_wide(df: pd.DataFrame, path: Path, battery: pd.DataFrame | None) -> pd.DataFrame:
    """One row per (subject, instance) from a subject-by-instance matrix; bad cells named by file row and column."""
    alias = next((a for a in SUBJECT_ALIASES if a in df.columns), df.columns[0])
    cells = df.drop(columns=[alias])
    if battery is not None:
        unknown = [c for c in cells.columns if c not in set(battery["instance_id"])]
        if unknown:
            raise InputError(f"instance column not in the battery ({len(unknown)} such columns)", source=path,
                             column=str(unknown[0]))
    for column in cells.columns:
        present = cells[column].notna()
        _, bad = parse_score(cells.loc[present, column])
        if bad.any():
            row = int(np.flatnonzero(present.to_numpy())[np.flatnonzero(bad.to_numpy())[0]])
            raise InputError(f"correct must be 0/1 or a score in [0, 1], got {cells[column].iloc[row]!r} for subject "
                             f"{df[alias].iloc[row]!r}", source=path, row=row + 1, column=str(column))
    long = df.melt(id_vars=[alias], var_name="instance_id", value_name="correct").rename(columns={alias: "subject"})
    return long[long["correct"].notna()].reset_index(drop=True)
