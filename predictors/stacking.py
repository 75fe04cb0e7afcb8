"""Stacking: out-of-fold predictions of several part models feed a calibrated logistic meta-model.

The meta-model is a logistic regression on the logits of the parts' out-of-fold success
probabilities (Platt scaling with one weight per part). It can give a useless part weight zero,
so the stack does no worse than its best part except by the noise of fitting a few weights; and
as a logistic calibration of held-out predictions it is calibrated by construction. The logistic
part on embeddings chooses its inverse L2 strength ``C`` on the same inner folds (out-of-fold log
loss), so nothing is tuned on the data it is evaluated on.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from assess.errors import InputError

from .classifiers import make_classifier

#: Inverse L2 strengths tried for logistic models on embeddings (hundreds of dimensions, ~1,000 rows).
LOGISTIC_CS: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)
#: Probabilities are clipped to [EPS, 1 - EPS] before taking logits.
EPS = 1e-3
Split = tuple[np.ndarray, np.ndarray]


def inner_splits(y: np.ndarray, n_splits: int, random_state: int | None) -> list[Split]:
    """Stratified inner folds of the training rows (fewer when a class is rare)."""
    k = min(n_splits, int(np.bincount(y, minlength=2).min()))
    if k < 2:
        raise InputError("stacking needs at least 2 successes and 2 failures in the training rows")
    return list(StratifiedKFold(k, shuffle=True, random_state=random_state).split(np.zeros(len(y)), y))


def out_of_fold(model, X: np.ndarray, y: np.ndarray, splits: Sequence[Split]) -> np.ndarray:
    """Success probability of every row predicted by a clone of ``model`` fitted without it (NaN if never held out)."""
    p = np.full(len(y), np.nan)
    for train, test in splits:
        p[test] = clone(model).fit(X[train], y[train]).predict_proba(X[test])[:, 1]
    return p


def grouped_rows(X: np.ndarray, y: np.ndarray, groups: np.ndarray | None):
    """``(X, y, sample_weight)`` to fit on. With ``groups`` (rows of one group share their features, e.g. one
    instance's outcomes for many subjects), each group enters twice — once as a success, once as a
    failure — weighted by its counts: the same optimum as fitting every row, at a fraction of the cost."""
    if groups is None:
        return X, y, None
    names, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    successes = np.bincount(inverse, weights=y, minlength=len(names))
    failures = np.bincount(inverse, minlength=len(names)) - successes
    w = np.r_[successes, failures]
    keep = w > 0
    X2 = np.vstack([X[first], X[first]])[keep]
    return X2, np.r_[np.ones(len(names), int), np.zeros(len(names), int)][keep], w[keep]


def fit_logistic(X: np.ndarray, y: np.ndarray, C: float, groups: np.ndarray | None = None,
                 random_state: int | None = 0):
    """The standardised logistic pipeline of :func:`make_classifier`, fitted on (grouped) rows."""
    X2, y2, w = grouped_rows(X, y, groups)
    model = make_classifier("logistic", random_state, C=C)
    return model.fit(X2, y2, scale__sample_weight=w, logistic__sample_weight=w)


def logistic_path(X: np.ndarray, y: np.ndarray, splits: Sequence[Split], Cs: Sequence[float],
                  groups: np.ndarray | None = None) -> dict[float, np.ndarray]:
    """Out-of-fold probabilities for every ``C``: per fold one scaler and one model warm-started along rising C."""
    oof = {C: np.full(len(y), np.nan) for C in Cs}
    for train, test in splits:
        X2, y2, w = grouped_rows(X[train], y[train], None if groups is None else groups[train])
        scaler = StandardScaler().fit(X2, sample_weight=w)
        Z, Z_test = scaler.transform(X2), scaler.transform(X[test])
        model = LogisticRegression(max_iter=2000, warm_start=True)
        for C in sorted(Cs):
            oof[C][test] = model.set_params(C=C).fit(Z, y2, sample_weight=w).predict_proba(Z_test)[:, 1]
    return oof


def choose_logistic_C(X: np.ndarray, y: np.ndarray, splits: Sequence[Split], Cs: Sequence[float] = LOGISTIC_CS,
                      groups: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """The ``C`` with the lowest out-of-fold log loss on ``splits``, and its out-of-fold probabilities."""
    if not Cs:
        raise InputError("choosing C needs at least one candidate")
    scored = []
    for C, p in logistic_path(X, y, splits, Cs, groups).items():
        held = ~np.isnan(p)
        scored.append((log_loss(y[held], np.clip(p[held], EPS, 1 - EPS), labels=[0, 1]), C, p))
    _, C, p = min(scored, key=lambda entry: entry[0])
    return C, p


def logits(p: np.ndarray) -> np.ndarray:
    """Logits of probabilities clipped to [EPS, 1 − EPS]."""
    q = np.clip(np.asarray(p, float), EPS, 1 - EPS)
    return np.log(q / (1 - q))


def fit_meta(parts_p: Sequence[np.ndarray], y: np.ndarray) -> LogisticRegression:
    """The logistic meta-model on the parts' logits (rows some part never held out are left out)."""
    Z = np.column_stack([logits(p) for p in parts_p])
    held = ~np.isnan(np.column_stack(parts_p)).any(axis=1)
    if len(np.unique(y[held])) < 2:
        raise InputError("stacking: the held-out rows hold a single outcome; more training rows are needed")
    return LogisticRegression(C=100.0, max_iter=1000).fit(Z[held], y[held])


@dataclass
class StackedModel:
    """Fitted parts (each reads its own feature matrix) and the meta-model over their logits."""

    parts: tuple
    meta: LogisticRegression

    def predict_proba(self, matrices: Sequence[np.ndarray]) -> np.ndarray:
        """(n, 2) probabilities; ``matrices[i]`` is the feature matrix of part ``i``."""
        if len(matrices) != len(self.parts):
            raise ValueError(f"{len(self.parts)} parts need {len(self.parts)} feature matrices, got {len(matrices)}")
        Z = np.column_stack([logits(part.predict_proba(M)[:, 1]) for part, M in zip(self.parts, matrices)])
        return self.meta.predict_proba(Z)

    @property
    def weights(self) -> np.ndarray:
        """The meta-model's weight on each part's logit."""
        return self.meta.coef_[0]


def fit_stack(parts: Sequence[tuple[Callable[[np.ndarray, np.ndarray, Sequence[Split]], tuple[object, np.ndarray]],
                                    np.ndarray]], y: np.ndarray, splits: Sequence[Split]) -> StackedModel:
    """Fit a stack. Each part is ``(fit_part, X)``: ``fit_part(X, y, splits)`` returns the part fitted on all
    rows and its out-of-fold probabilities on ``splits``."""
    fitted, oof = [], []
    for fit_part, X in parts:
        model, p = fit_part(X, y, splits)
        fitted.append(model)
        oof.append(p)
    return StackedModel(tuple(fitted), fit_meta(oof, y))


def classifier_part(kind: str, random_state: int | None, n_jobs: int | None, C: float = 1.0):
    """A part that fits a fixed classifier: out-of-fold, then on all rows."""

    def fit_part(X: np.ndarray, y: np.ndarray, splits: Sequence[Split]):
        model = make_classifier(kind, random_state, n_jobs, C)
        p = out_of_fold(model, X, y, splits)
        return clone(model).fit(X, y), p

    return fit_part


def tuned_logistic_part(random_state: int | None, Cs: Sequence[float] = LOGISTIC_CS,
                        groups: np.ndarray | None = None):
    """A logistic part whose ``C`` is chosen by out-of-fold log loss on the stack's inner folds
    (``groups``: rows sharing features, fitted on group totals, see :func:`grouped_rows`)."""

    def fit_part(X: np.ndarray, y: np.ndarray, splits: Sequence[Split]):
        C, p = choose_logistic_C(X, y, splits, Cs, groups)
        return fit_logistic(X, y, C, groups, random_state), p

    return fit_part
