"""From battery/outcome tables to the demand-IRT arrays and back, with located errors.

Demands come from the given level-scale columns (any list: the model does not assume the 18
scales), the guessing floor from the UG column (``c = 1 - UG/100``; a missing UG gets the
``missing_ug_floor``, 0 by default: no guessing credit is assumed where none is annotated), and
outcomes as binomial counts: ``successes``/``trials`` columns when the table has them (graded
outcomes), else the 0/1 or [0, 1] score as a fraction of one trial.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from assess.errors import InputError

from .model import Items, guess_floor


def instance_at(rows: pd.DataFrame, position: int) -> str | None:
    """The instance id of row ``position`` (0-based), for error messages; None without an id column."""
    return str(rows["instance_id"].iloc[position]) if "instance_id" in rows.columns else None


def check_scales(scales: Sequence[str], ug_column: str | None) -> list[str]:
    """The level-scale list as given: unique strings, not the UG column (empty: the base factor alone, a Rasch model)."""
    if isinstance(scales, str) or not isinstance(scales, Sequence):
        raise InputError(f"scales must be a list of level-scale column names, got {scales!r}")
    names = list(scales)
    bad = [s for s in names if not isinstance(s, str) or not s]
    if bad:
        raise InputError(f"scale names must be non-empty strings, got {bad[0]!r}")
    repeated = sorted({s for s in names if names.count(s) > 1})
    if repeated:
        raise InputError(f"scale(s) listed more than once: {', '.join(repeated)}")
    if ug_column is not None and ug_column in names:
        raise InputError(f"{ug_column!r} is the unguessability column, not a level scale", column=ug_column)
    return names


def demand_matrix(rows: pd.DataFrame, scales: Sequence[str], who: str) -> np.ndarray:
    """(n, K) levels of ``scales``; a missing column, a missing value or a negative level is refused."""
    missing = [s for s in scales if s not in rows.columns]
    if missing:
        raise InputError(f"{who} needs level column(s) {', '.join(missing)}", column=missing[0])
    values = rows.loc[:, list(scales)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) | (values < 0) | np.isinf(values)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raw = rows[scales[col]].iloc[row]
        what = "lacks a demand level" if pd.isna(raw) else f"has level {raw!r}, not a number >= 0"
        raise InputError(f"{who}: row {what} ({int(bad.any(axis=1).sum())} such row(s)); annotate it or drop it",
                         row=row + 1, instance_id=instance_at(rows, row), column=scales[col])
    return values


def guess_column(rows: pd.DataFrame, ug_column: str | None, missing_floor: float, who: str) -> np.ndarray:
    """(n,) guessing floors from the UG column; no column (or ``ug_column`` None) gives ``missing_floor``."""
    if ug_column is None or ug_column not in rows.columns:
        return np.full(len(rows), float(missing_floor))
    ug = pd.to_numeric(rows[ug_column], errors="coerce").to_numpy(dtype=float)
    bad = (~np.isnan(ug) & ((ug < 0) | (ug > 100))) | (np.isnan(ug) & rows[ug_column].notna().to_numpy())
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"{who}: unguessability must be a number in 0-100, got {rows[ug_column].iloc[row]!r}",
                         row=row + 1, instance_id=instance_at(rows, row), column=ug_column)
    return guess_floor(ug, missing_floor)


def item_table(rows: pd.DataFrame, scales: Sequence[str], ug_column: str | None, missing_floor: float,
               who: str) -> tuple[list[str], np.ndarray, Items]:
    """Distinct items of ``rows`` (by ``instance_id``): ids, each row's item index (n,), and their Items.

    Rows of one instance must agree on its demands and UG (they are the same battery row).
    """
    if "instance_id" not in rows.columns:
        raise InputError(f"{who} needs an instance_id column to tell items apart", column="instance_id")
    ids = rows["instance_id"].astype(str).to_numpy()
    demands = demand_matrix(rows, scales, who)
    guess = guess_column(rows, ug_column, missing_floor, who)
    unique, first, index = np.unique(ids, return_index=True, return_inverse=True)
    disagree = (np.abs(demands - demands[first][index]).max(axis=1, initial=0) > 0) | (guess != guess[first][index])
    if disagree.any():
        row = int(np.flatnonzero(disagree)[0])
        raise InputError(f"{who}: rows of one instance disagree on its demands or UG", row=row + 1,
                         instance_id=ids[row])
    return list(unique), index, Items(demands[first], guess[first])


def binomial_counts(rows: pd.DataFrame, y: object, who: str) -> tuple[np.ndarray, np.ndarray]:
    """(successes, trials) per row: ``successes``/``trials`` columns when present, else ``y`` in [0, 1] as one trial."""
    if {"successes", "trials"} <= set(rows.columns):
        successes = pd.to_numeric(rows["successes"], errors="coerce").to_numpy(dtype=float)
        trials = pd.to_numeric(rows["trials"], errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isfinite(successes) & np.isfinite(trials) & (trials > 0) & (successes >= 0) & (successes <= trials))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(f"{who}: need trials > 0 and 0 <= successes <= trials, got "
                             f"{rows['successes'].iloc[row]!r}/{rows['trials'].iloc[row]!r}", row=row + 1,
                             instance_id=instance_at(rows, row), column="successes")
        return successes, trials
    if y is None:
        raise InputError(f"{who}: give y (0/1 or a score in [0, 1] per row) or successes/trials columns")
    target = np.asarray(y)
    if target.shape != (len(rows),):
        raise InputError(f"{who}: y has shape {target.shape}, expected ({len(rows)},) — one outcome per row")
    score = pd.to_numeric(pd.Series(target), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(score) | (score < 0) | (score > 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"{who}: y must be 0/1 or a score in [0, 1], got {target[row]!r}", row=row + 1,
                         instance_id=instance_at(rows, row))
    return score, np.ones(len(score))


def ability_frame(subjects: Sequence[str], scales: Sequence[str], theta: np.ndarray, sd: np.ndarray,
                  evidence: np.ndarray, discrimination: np.ndarray) -> pd.DataFrame:
    """Long ability table: subject, scale, ability, ci_low, ci_high (95 % Laplace), n, intercept, slope.

    ``n`` is the number of trials on items demanding the scale; with ``n = 0`` the estimate is the
    population prior, not evidence, and is reported as NaN. ``intercept``/``slope`` describe the
    scale's own factor ``sigmoid(a (theta - level)) = sigmoid(intercept + slope * level)``.
    """
    j, k = theta.shape
    seen = evidence > 0
    nan = np.nan
    frame = pd.DataFrame({
        "subject": np.repeat(np.asarray(subjects, dtype=object), k),
        "scale": np.tile(np.asarray(scales, dtype=object), j),
        "ability": np.where(seen, theta, nan).ravel(),
        "ci_low": np.where(seen, theta - 1.959964 * sd, nan).ravel(),
        "ci_high": np.where(seen, theta + 1.959964 * sd, nan).ravel(),
        "n": np.rint(evidence).astype(int).ravel(),
        "intercept": np.where(seen, discrimination[None] * theta, nan).ravel(),
        "slope": np.where(seen, -np.broadcast_to(discrimination, theta.shape), nan).ravel(),
    })
    return frame


def evidence_counts(subject: np.ndarray, item: np.ndarray, trials: np.ndarray, demands: np.ndarray,
                    n_subjects: int) -> np.ndarray:
    """(J, K) trials per subject on items demanding each scale (d > 0)."""
    demanded = demands > 0
    evidence = np.zeros((n_subjects, demands.shape[1]))
    for k in range(demands.shape[1]):
        evidence[:, k] = np.bincount(subject, weights=demanded[item, k] * trials, minlength=n_subjects)
    return evidence
