"""Inner cross-validation primitives: folds of the training rows, out-of-fold predictions, tuned logistic models.

Everything here sees only the rows handed to an assessor's ``fit``, so what it chooses (a logistic
model's inverse L2 strength ``C``, which combination of parts to use, how to calibrate) is never
tuned on the data it is evaluated on. Rows may carry weights (graded outcomes: a success and a
failure row per outcome, weighted by its counts); ``units`` name the outcome each row came from,
so both rows of one outcome always fall in the same fold.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from assess.errors import InputError

from .classifiers import fit_weighted, make_classifier

#: Inverse L2 strengths tried for logistic models on embeddings (hundreds of dimensions, ~1,000 rows).
LOGISTIC_CS: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)
#: Probabilities are clipped to [EPS, 1 - EPS] before taking logits.
EPS = 1e-3
Split = tuple[np.ndarray, np.ndarray]


def inner_splits(y: np.ndarray, n_splits: int, random_state: int | None, groups: np.ndarray | None = None,
                 units: np.ndarray | None = None, weight: np.ndarray | None = None) -> list[Split]:
    """Inner folds of the training rows ``y`` (n,).

    With ``groups`` (n,) holding at least two values: group k-fold (no group on both sides, as in the
    task-, benchmark- or instance-grouped protocols); otherwise k-fold stratified by each unit's
    (weighted) success rate ≥ 0.5 (fewer folds when a class is rare). ``units`` (n,): rows of one unit
    (one graded outcome) stay together.
    """
    units = np.arange(len(y)) if units is None else np.asarray(units)
    names, first, inverse = np.unique(units, return_index=True, return_inverse=True)
    if groups is not None and len(np.unique(groups)) >= 2:
        unit_groups = np.asarray(groups)[first]
        k = min(n_splits, len(np.unique(unit_groups)))
        folds = GroupKFold(k, shuffle=True, random_state=random_state).split(names, groups=unit_groups)
    else:
        w = np.ones(len(y)) if weight is None else weight
        labels = (np.bincount(inverse, weights=w * y) / np.bincount(inverse, weights=w) >= 0.5).astype(int)
        k = min(n_splits, int(np.bincount(labels, minlength=2).min()))
        if k < 2:
            raise InputError("inner cross-validation needs at least 2 successes and 2 failures in the training rows")
        folds = StratifiedKFold(k, shuffle=True, random_state=random_state).split(names, labels)
    return [(np.flatnonzero(~np.isin(inverse, test)), np.flatnonzero(np.isin(inverse, test))) for _, test in folds]


def out_of_fold(model, X: np.ndarray, y: np.ndarray, splits: Sequence[Split],
                weight: np.ndarray | None = None) -> np.ndarray:
    """Success probability of every row predicted by a clone of ``model`` fitted without it (NaN if never held out)."""
    p = np.full(len(y), np.nan)
    for train, test in splits:
        fold = clone(model)
        fit_weighted(fold, X[train], y[train], None if weight is None else weight[train])
        p[test] = fold.predict_proba(X[test])[:, 1]
    return p


def grouped_rows(X: np.ndarray, y: np.ndarray, groups: np.ndarray | None, weight: np.ndarray | None = None):
    """``(X, y, sample_weight)`` to fit on. With ``groups`` (rows of one group share their features, e.g. one
    instance's outcomes for many subjects), each group enters twice — once as a success, once as a
    failure — weighted by its (weighted) counts: the same optimum as fitting every row, at a fraction of the cost."""
    if groups is None:
        return X, y, weight
    w = np.ones(len(y)) if weight is None else weight
    names, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    successes = np.bincount(inverse, weights=w * y, minlength=len(names))
    failures = np.bincount(inverse, weights=w * (1 - y), minlength=len(names))
    counts = np.r_[successes, failures]
    keep = counts > 0
    X2 = np.vstack([X[first], X[first]])[keep]
    return X2, np.r_[np.ones(len(names), int), np.zeros(len(names), int)][keep], counts[keep]


def fit_logistic(X: np.ndarray, y: np.ndarray, C: float, groups: np.ndarray | None = None,
                 random_state: int | None = 0, weight: np.ndarray | None = None):
    """The standardised logistic pipeline of :func:`make_classifier`, fitted on (grouped, weighted) rows."""
    X2, y2, w = grouped_rows(X, y, groups, weight)
    model = make_classifier("logistic", random_state, C=C)
    return model.fit(X2, y2, scale__sample_weight=w, logistic__sample_weight=w)


def logistic_path(X: np.ndarray, y: np.ndarray, splits: Sequence[Split], Cs: Sequence[float],
                  groups: np.ndarray | None = None, weight: np.ndarray | None = None) -> dict[float, np.ndarray]:
    """Out-of-fold probabilities for every ``C``: per fold one scaler and one model warm-started along rising C."""
    oof = {C: np.full(len(y), np.nan) for C in Cs}
    for train, test in splits:
        X2, y2, w = grouped_rows(X[train], y[train], None if groups is None else groups[train],
                                 None if weight is None else weight[train])
        scaler = StandardScaler().fit(X2, sample_weight=w)
        Z, Z_test = scaler.transform(X2), scaler.transform(X[test])
        model = LogisticRegression(max_iter=2000, warm_start=True)
        for C in sorted(Cs):
            oof[C][test] = model.set_params(C=C).fit(Z, y2, sample_weight=w).predict_proba(Z_test)[:, 1]
    return oof


def choose_logistic_C(X: np.ndarray, y: np.ndarray, splits: Sequence[Split], Cs: Sequence[float] = LOGISTIC_CS,
                      groups: np.ndarray | None = None, weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """The ``C`` with the lowest (weighted) out-of-fold log loss on ``splits``, and its out-of-fold probabilities."""
    if not Cs:
        raise InputError("choosing C needs at least one candidate")
    scored = []
    for C, p in logistic_path(X, y, splits, Cs, groups, weight).items():
        held = ~np.isnan(p)
        w = None if weight is None else weight[held]
        scored.append((log_loss(y[held], np.clip(p[held], EPS, 1 - EPS), sample_weight=w, labels=[0, 1]), C, p))
    _, C, p = min(scored, key=lambda entry: entry[0])
    return C, p


def logits(p: np.ndarray) -> np.ndarray:
    """Logits of probabilities clipped to [EPS, 1 − EPS]."""
    q = np.clip(np.asarray(p, float), EPS, 1 - EPS)
    return np.log(q / (1 - q))
