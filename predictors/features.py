"""Column selection and validation for instance tables (battery rows, optionally with a subject column).

Every assessor takes the columns it needs from one table ``X`` through these helpers, so a
missing column or an unannotated row gets the same clear :class:`InputError` everywhere.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from assess.errors import InputError
from assess.scales import ANNOTATED, check_scale_codes

#: Default demand features: the 18 scales and unguessability.
DEMAND_FEATURES: tuple[str, ...] = ANNOTATED
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
    """Validate demand feature codes (the 18 scales and UG)."""
    try:
        return check_scale_codes(list(features))
    except ValueError as err:
        raise InputError(str(err)) from None


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


def binary_target(y: object, n_rows: int, who: str) -> np.ndarray:
    """Check ``y`` is 0/1 with one value per row and both classes present (needed to learn anything)."""
    target = np.asarray(y)
    if target.shape != (n_rows,):
        raise InputError(f"{who}: y has shape {target.shape}, expected ({n_rows},) — one outcome per row")
    if not np.isin(target, (0, 1)).all():
        bad = target[~np.isin(target, (0, 1))][0]
        raise InputError(f"{who}: y must be 0/1 success outcomes, got {bad!r}")
    if len(np.unique(target)) < 2:
        raise InputError(f"{who}: y holds only {'successes' if target[0] == 1 else 'failures'}; "
                         "an assessor needs both to learn from")
    return target.astype(int)


def _instance_id(X: pd.DataFrame, row: int) -> str | None:
    return str(X["instance_id"].iloc[row]) if "instance_id" in X.columns else None


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
