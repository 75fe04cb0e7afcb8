"""The classifiers an assessor can sit on: the published random forest, XGBoost, or logistic regression."""
from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from assess.errors import InputError

CLASSIFIERS: tuple[str, ...] = ("forest", "xgboost", "logistic")


def fit_weighted(model, features: np.ndarray, labels: np.ndarray, weight: np.ndarray | None) -> None:
    """Fit a classifier of :func:`make_classifier`, with per-row sample weights when given."""
    if weight is None:
        model.fit(features, labels)
    elif isinstance(model, Pipeline):
        model.fit(features, labels, **{f"{model.steps[-1][0]}__sample_weight": weight})
    else:
        model.fit(features, labels, sample_weight=weight)


def make_classifier(kind: str, random_state: int | None = 0, n_jobs: int | None = None, C: float = 1.0):
    """A fresh, unfitted classifier of ``kind``.

    ``forest`` follows the published assessor protocol (100 trees, ``min_samples_split=50``, entropy);
    ``logistic`` standardises features first so embeddings and levels share one scale; ``C`` is its
    inverse L2 strength (hundreds of embedding dimensions need a small one).
    """
    if kind == "forest":
        return RandomForestClassifier(n_estimators=100, min_samples_split=50, criterion="entropy",
                                      random_state=random_state, n_jobs=n_jobs)
    if kind == "xgboost":
        return XGBClassifier(n_estimators=200, max_depth=4, learning_rate=0.1, subsample=0.9,
                             colsample_bytree=0.8, eval_metric="logloss", random_state=random_state,
                             n_jobs=n_jobs or 1, tree_method="hist")  # None means 1, as in scikit-learn
    if kind == "logistic":
        return Pipeline([("scale", StandardScaler()),
                         ("logistic", LogisticRegression(C=C, max_iter=2000))])
    raise InputError(f"unknown classifier {kind!r}; choose one of {', '.join(CLASSIFIERS)}")
