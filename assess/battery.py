"""The data model: a battery of annotated instances and the outcomes of subjects on them.

Both are pandas DataFrames; the ``validate_*`` functions are the single gate every source passes
through, so that every bad value is reported with its file, row (1-based data row) or instance
id, and column. A battery's annotation columns are the scales of the active
:class:`~assess.scaleset.ScaleSet` (levels 0-5, percentages 0-100, by each scale's kind).

Outcomes are graded: ``correct`` is 0/1 or a score in [0, 1]; k of n attempts come as
``successes`` and ``trials`` columns (then ``correct`` is ``successes / trials``). Abilities read
them as binomial counts; assessors as sample weights.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .scaleset import ScaleSet, default_scale_set, load_scale_set

#: Text columns of a battery; only ``instance_id`` is mandatory, the others default to "".
TEXT_COLUMNS: tuple[str, ...] = ("instance_id", "benchmark", "task", "prompt", "target", "answer_format")
#: Annotation provenance: who rated the row, under which protocol, rubrics and scale set.
PROVENANCE_COLUMNS: tuple[str, ...] = ("annotator", "annotation_protocol", "rubric_hash", "scale_set_hash")
OUTCOME_COLUMNS: tuple[str, ...] = ("subject", "instance_id", "correct", "raw_output")
#: Optional outcome columns: k of n attempts.
COUNT_COLUMNS: tuple[str, ...] = ("successes", "trials")


def battery_columns(scales: ScaleSet | None = None) -> tuple[str, ...]:
    """The canonical battery columns under a scale set (default: the bundled one)."""
    return TEXT_COLUMNS + (scales or default_scale_set()).codes + PROVENANCE_COLUMNS


def _first_rows(mask: pd.Series | np.ndarray, n: int = 1) -> list[int]:
    return [int(i) for i in np.flatnonzero(np.asarray(mask))[:n]]


def validate_battery(df: pd.DataFrame, source: str | Path = "<battery>",
                     scales: ScaleSet | None = None) -> pd.DataFrame:
    """Check and normalise a battery table; return a new DataFrame in canonical column order.

    Every scale of ``scales`` (default: the bundled set) is an annotation column; missing ones
    become NaN (never a default level); extra columns are kept after the canonical ones.
    Raises :class:`InputError` naming source, row and column.
    """
    scales = scales or default_scale_set()
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
    for col in scales:
        out[col] = _levels(out, col, source, scales)
    canonical = battery_columns(scales)
    extras = [c for c in out.columns if c not in canonical]
    return out[list(canonical) + extras]


def _levels(df: pd.DataFrame, col: str, source: str | Path, scales: ScaleSet) -> pd.Series:
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
    scale = scales[col]
    bad = values.notna() & ((values < scale.minimum) | (values > scale.maximum))
    if bad.any():
        row = _first_rows(bad)[0]
        raise InputError(str(scale.problem(float(values.iloc[row]))), source=source, row=row + 1,
                         instance_id=df["instance_id"].iloc[row], column=col)
    return values.astype(float)


def validate_outcomes(
    df: pd.DataFrame,
    source: str | Path = "<outcomes>",
    battery: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Check and normalise a long outcome table (subject, instance_id, correct[, successes, trials, raw_output]).

    ``correct`` is a float in [0, 1]: 0/1 (booleans and "true"/"false" accepted) or a score. With
    ``successes`` and ``trials`` (k of n attempts; ``correct`` may then be left out) ``correct`` is
    ``successes / trials``. A (subject, instance) pair may appear once; with a battery, every
    instance id must belong to it. Errors name the row and column: a score outside [0, 1],
    successes above trials, trials of 0.
    """
    counts = [c for c in COUNT_COLUMNS if c in df.columns]
    if len(counts) == 1:
        other = next(c for c in COUNT_COLUMNS if c not in counts)
        raise InputError(f"column {counts[0]!r} needs {other!r} beside it", source=source, column=other)
    required = ("subject", "instance_id") + (() if counts else ("correct",))
    for col in required:
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
    if counts:
        _counts(out, source)
    else:
        out["correct"] = _scores(out, source)
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
    columns = OUTCOME_COLUMNS + (COUNT_COLUMNS if counts else ())
    extras = [c for c in out.columns if c not in columns]
    return out[list(columns) + extras]


_TRUE = {"true", "t", "yes", "y"}
_FALSE = {"false", "f", "no", "n"}


def parse_score(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Scores in [0, 1] as floats (1/0, true/false, yes/no, booleans, numbers) and a mask of the invalid ones."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        parsed = values.astype(float)
        return parsed, ~((parsed >= 0) & (parsed <= 1))
    text = values.astype(str).str.strip().str.lower()
    numbers = pd.to_numeric(values.where(~text.isin(_TRUE | _FALSE)), errors="coerce")
    parsed = numbers.where(~text.isin(_TRUE), 1.0).where(~text.isin(_FALSE), 0.0).astype(float)
    return parsed, ~((parsed >= 0) & (parsed <= 1))


def _shown(value: object) -> object:
    return getattr(value, "item", lambda: value)()


def _scores(df: pd.DataFrame, source: str | Path) -> pd.Series:
    """The ``correct`` column as floats in [0, 1], rejecting anything else with its row."""
    parsed, bad = parse_score(df["correct"])
    if bad.any():
        row = _first_rows(bad)[0]
        raise InputError(f"correct must be 0/1 or a score in [0, 1], got {_shown(df['correct'].iloc[row])!r}",
                         source=source, row=row + 1, instance_id=str(df["instance_id"].iloc[row]), column="correct")
    return parsed


def _counts(out: pd.DataFrame, source: str | Path) -> None:
    """Check ``successes``/``trials`` (numbers, 0 <= successes <= trials, trials > 0) and set ``correct`` from them."""
    def fail(mask: pd.Series, message: str, column: str) -> None:
        if mask.any():
            row = _first_rows(mask)[0]
            raise InputError(message.format(s=_shown(out["successes"].iloc[row]), t=_shown(out["trials"].iloc[row])),
                             source=source, row=row + 1, instance_id=out["instance_id"].iloc[row], column=column)

    values = {}
    for column in COUNT_COLUMNS:
        values[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
        fail(~np.isfinite(values[column]), f"{column} must be a number, got {{{column[0]}!r}}", column)
    successes, trials = values["successes"], values["trials"]
    fail(trials <= 0, "trials must be at least 1, got {t!r}", "trials")
    fail(successes < 0, "successes must not be negative, got {s!r}", "successes")
    fail(successes > trials, "successes ({s!r}) greater than trials ({t!r})", "successes")
    rate = successes / trials
    if "correct" in out.columns and out["correct"].notna().any():
        given, bad = parse_score(out["correct"])
        fail(out["correct"].notna() & (bad | ((given - rate).abs() > 1e-9)),
             "correct disagrees with successes/trials ({s!r} of {t!r}); leave it out or make it their ratio", "correct")
    out["successes"], out["trials"], out["correct"] = successes, trials, rate


def join(battery: pd.DataFrame, outcomes: pd.DataFrame, subject: str | None = None) -> pd.DataFrame:
    """Outcomes (optionally of one subject) joined to their battery rows; one row per (subject, instance)."""
    if subject is not None:
        outcomes = outcomes[outcomes["subject"] == subject]
    columns = ["subject", "instance_id", "correct"] + [c for c in COUNT_COLUMNS if c in outcomes.columns]
    return outcomes[columns].merge(battery, on="instance_id", how="inner")


@dataclass(frozen=True)
class Battery:
    """Validated instances plus the scale set they are annotated under (``assess.Battery``).

    ``table`` is the validated DataFrame (canonical columns first); ``scales`` the active
    :class:`~assess.scaleset.ScaleSet`.
    """

    table: pd.DataFrame
    scales: ScaleSet

    @classmethod
    def read(cls, path: str | Path, *, rubrics: Sequence[str | Path] = (),
             mapping: Mapping[str, str] | None = None) -> Battery:
        """Read a battery file under the bundled rubrics plus ``rubrics`` folders (as ``--rubrics``)."""
        from .sources import read_battery

        scales = load_scale_set(rubrics)
        return cls(read_battery(path, mapping, scales), scales)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, rubrics: Sequence[str | Path] = (),
                   source: str = "<battery>") -> Battery:
        """Validate an in-memory table under the bundled rubrics plus ``rubrics`` folders."""
        scales = load_scale_set(rubrics)
        return cls(validate_battery(frame, source, scales), scales)

    def __len__(self) -> int:
        return len(self.table)

    def demands(self, codes: Sequence[str] | None = None) -> np.ndarray:
        """(n_instances, n_scales) levels of ``codes`` (default: every level scale), NaN where not annotated."""
        chosen = self.scales.check(codes, key="codes") if codes is not None else self.scales.level_codes
        return self.table.loc[:, list(chosen)].to_numpy(dtype=float)
