"""Column selection and validation for instance tables (battery rows, optionally with a subject column).

Every assessor takes the columns it needs from one table ``X`` through these helpers, so a
missing column or an unannotated row gets the same clear :class:`InputError` everywhere.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from assess.errors import InputError
from assess.scaleset import default_scale_set

#: Default demand features: every scale of the bundled set (18 scales and UG); pass
#: ``features=scale_set.codes`` for an extended set.
DEMAND_FEATURES: tuple[str, ...] = default_scale_set().codes
#: Column holding the instance text in a battery.
TEXT_COLUMN = "prompt"
SUBJECT_COLUMN = "subject"


def require_table(X: object, who: str) -> pd.DataFrame:
    """Check that ``X`` is a DataFrame of instance rows (assessors need named columns)."""
    if not isinstance(X, pd.DataFrame):
        raise InputError(f"{who} needs a pandas DataFrame of instance rows, got {type(X).__name__}")
    return X


def require_columns(X: pd.DataFrame, columns: Sequence[str], who: str) -> None:
    """Raise naming the first missing column and listing all that are missing."""
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise InputError(f"{who} needs column(s) {', '.join(missing)} in its input table", column=missing[0])


def check_features(features: Sequence[str]) -> list[str]:
    """Demand feature codes: a non-empty list of distinct column names (the table must hold them)."""
    codes = list(features)
    if not codes or not all(isinstance(c, str) and c for c in codes):
        raise InputError(f"features must be a non-empty list of scale codes, got {features!r}", column="features")
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        raise InputError(f"feature(s) listed more than once: {', '.join(repeated)}", column="features")
    return codes


def demand_features(X: pd.DataFrame, features: Sequence[str], who: str) -> np.ndarray:
    """The float matrix of the given annotation columns; every value must be present."""
    require_table(X, who)
    require_columns(X, features, who)
    values = X.loc[:, list(features)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(values)
    if missing.any():
        row, col = (int(i) for i in np.argwhere(missing)[0])
        raise InputError(f"{who} needs annotated demand levels; {int(missing.any(axis=1).sum())} row(s) lack some",
                         row=row + 1, instance_id=_instance_id(X, row), column=features[col])
    return values


def texts(X: pd.DataFrame, column: str, who: str) -> list[str]:
    """The instance texts of ``column``; empty or missing texts are refused."""
    require_table(X, who)
    require_columns(X, [column], who)
    raw = X[column]
    empty = raw.isna() | (raw.astype(str).str.strip() == "")
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0])
        raise InputError(f"{who} needs a non-empty text", row=row + 1, instance_id=_instance_id(X, row), column=column)
    return raw.astype(str).tolist()


def graded_target(y: object, n_rows: int, who: str,
                  sample_weight: object | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Binary training rows for graded outcomes: (row index, 0/1 label, weight or None).

    ``y`` holds one success rate in [0, 1] per row (0/1, a score, or successes / trials) and
    ``sample_weight`` the trials behind it (default 1). A row of rate ``p`` and weight ``w``
    becomes a success of weight ``w p`` and a failure of weight ``w (1 - p)`` (zero weights
    dropped), so a classifier's weighted log-loss is the binomial one. With 0/1 ``y`` and no
    weights the rows are the input rows and the weight is None (an unweighted fit).
    """
    target = np.asarray(y, dtype=object)
    if target.shape != (n_rows,):
        raise InputError(f"{who}: y has shape {target.shape}, expected ({n_rows},) — one outcome per row")
    try:
        rate = target.astype(float)
    except (TypeError, ValueError):
        rate = np.full(n_rows, np.nan)
    bad = ~((rate >= 0) & (rate <= 1))
    if bad.any():
        raise InputError(f"{who}: y must be success rates in [0, 1] (0/1 outcomes or scores), got "
                         f"{target[np.flatnonzero(bad)[0]]!r}", row=int(np.flatnonzero(bad)[0]) + 1)
    weight = np.ones(n_rows) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if weight.shape != (n_rows,) or not (np.isfinite(weight) & (weight > 0)).all():
        raise InputError(f"{who}: sample_weight must be one positive number per row (the trials behind y)")
    success, failure = weight * rate, weight * (1 - rate)
    if success.sum() == 0 or failure.sum() == 0:
        raise InputError(f"{who}: y holds only {'failures' if success.sum() == 0 else 'successes'}; "
                         "an assessor needs both to learn from")
    if sample_weight is None and np.isin(rate, (0, 1)).all():
        return np.arange(n_rows), rate.astype(int), None
    rows = np.concatenate([np.flatnonzero(success > 0), np.flatnonzero(failure > 0)])
    labels = np.concatenate([np.ones((success > 0).sum(), int), np.zeros((failure > 0).sum(), int)])
    return rows, labels, np.concatenate([success[success > 0], failure[failure > 0]])


def _instance_id(X: pd.DataFrame, row: int) -> str | None:
    return str(X["instance_id"].iloc[row]) if "instance_id" in X.columns else None


def binary_target(y: object, n_rows: int, who: str) -> np.ndarray:
    """Check ``y`` is 0/1 with one value per row and both classes present, for assessors without sample weights."""
    _, labels, weight = graded_target(y, n_rows, who)
    if weight is not None:
        raise InputError(f"{who} learns from 0/1 outcomes only; graded outcomes need an assessor with sample "
                         "weights (demand, embedding, combined, multisubject, multisubject-combined)")
    return labels


def classifier_input(model: object, features: np.ndarray, who: str) -> np.ndarray:
    """``features`` if the fitted classifier reads that many columns; an InputError otherwise.

    A saved assessor fitted with other features (another embedding model, other scales) is caught
    here instead of deep inside scikit-learn or XGBoost.
    """
    expected = getattr(model, "n_features", None) or getattr(model, "n_features_in_", None)
    if expected is not None and features.shape[1] != int(expected):
        raise InputError(f"{who}: the fitted classifier reads {int(expected)} feature(s), the input gives "
                         f"{features.shape[1]} (fitted with another feature set or embedding model?)")
    return features


def checked_proba(proba: np.ndarray, who: str) -> np.ndarray:
    """(n, 2) probabilities, refused unless every value is finite and in [0, 1]."""
    proba = np.asarray(proba, float)
    if not (np.isfinite(proba) & (proba >= 0) & (proba <= 1)).all():
        raise InputError(f"{who}: the classifier produced probabilities outside [0, 1]; the assessor is corrupt")
    return proba
