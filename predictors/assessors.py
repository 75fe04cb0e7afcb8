"""Instance-level assessors: predict a subject's success on an instance from its demands and/or text.

All follow scikit-learn's estimator contract (``fit(X, y)``, ``predict_proba(X)``, ``predict``,
``get_params``/``set_params``, ``clone``) and take from the instance table ``X`` only the columns
they need: the annotation columns for :class:`DemandAssessor`, the text column for
:class:`EmbeddingAssessor`, both for :class:`CombinedAssessor`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .classifiers import fit_weighted, make_classifier
from .embeddings import DEFAULT_MODEL, embed_texts
from .features import DEMAND_FEATURES, TEXT_COLUMN, check_features, demand_features, graded_target, require_table, \
    texts


#: Inverse L2 strength of the logistic classifier on embeddings (chosen on held-out folds, see README).
EMBEDDING_C = 0.001


class TabularAssessor(ClassifierMixin, BaseEstimator):
    """Shared fit/predict: build a feature matrix from ``X`` and hand it to the chosen classifier."""

    def _features(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def fit(self, X: pd.DataFrame, y: Sequence[float], sample_weight: Sequence[float] | None = None) -> "TabularAssessor":
        """Learn success from the rows of ``X`` and their outcomes ``y``.

        ``y`` (n,): 0/1 outcomes or success rates in [0, 1]; ``sample_weight`` (n,): the trials behind
        each rate (k of n attempts: ``y = k / n``, weight ``n``). Graded rows train as weighted
        successes and failures (:func:`~predictors.features.graded_target`), the binomial log-loss.
        """
        who = type(self).__name__
        require_table(X, who)
        rows, labels, weight = graded_target(y, len(X), who, sample_weight)
        model = make_classifier(self.classifier, self.random_state, self.n_jobs, self.C)
        fit_weighted(model, self._features(X)[rows], labels, weight)
        self.model_ = model
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 2) probabilities of failure and success."""
        check_is_fitted(self, "model_")
        return np.asarray(self.model_.predict_proba(self._features(require_table(X, type(self).__name__))), float)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted outcome (1 when success probability ≥ 0.5)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class DemandAssessor(TabularAssessor):
    """Success from the demand levels (18 scales + UG by default).

    ``classifier``: ``forest`` (the published protocol: 100 trees, ``min_samples_split=50``, entropy),
    ``xgboost`` or ``logistic`` (inverse L2 strength ``C``).
    """

    def __init__(self, classifier: str = "forest", features: Sequence[str] = DEMAND_FEATURES,
                 C: float = 1.0, random_state: int | None = 0, n_jobs: int | None = None) -> None:
        self.classifier = classifier
        self.features = features
        self.C = C
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _features(self, X: pd.DataFrame) -> np.ndarray:
        return demand_features(X, check_features(self.features), type(self).__name__)


class EmbeddingAssessor(TabularAssessor):
    """Success from MiniLM sentence embeddings of the instance text (cached on disk)."""

    def __init__(self, classifier: str = "logistic", model: str = DEFAULT_MODEL, text_column: str = TEXT_COLUMN,
                 cache_dir: str | None = None, allow_download: bool = False, C: float = EMBEDDING_C,
                 random_state: int | None = 0, n_jobs: int | None = None) -> None:
        self.classifier = classifier
        self.C = C
        self.model = model
        self.text_column = text_column
        self.cache_dir = cache_dir
        self.allow_download = allow_download
        self.random_state = random_state
        self.n_jobs = n_jobs

    def precompute(self, X: pd.DataFrame) -> None:
        """Embed (and cache on disk) every text of ``X`` once, e.g. before parallel cross-validation."""
        self._embeddings(X)

    def _embeddings(self, X: pd.DataFrame) -> np.ndarray:
        return embed_texts(texts(X, self.text_column, type(self).__name__), self.model, self.cache_dir,
                           allow_download=self.allow_download)

    def _features(self, X: pd.DataFrame) -> np.ndarray:
        return self._embeddings(X)


class CombinedAssessor(EmbeddingAssessor):
    """Success from demand levels and text embeddings side by side."""

    def __init__(self, classifier: str = "logistic", features: Sequence[str] = DEMAND_FEATURES,
                 model: str = DEFAULT_MODEL, text_column: str = TEXT_COLUMN, cache_dir: str | None = None,
                 allow_download: bool = False, C: float = EMBEDDING_C, random_state: int | None = 0,
                 n_jobs: int | None = None) -> None:
        super().__init__(classifier, model, text_column, cache_dir, allow_download, C, random_state, n_jobs)
        self.features = features

    def _features(self, X: pd.DataFrame) -> np.ndarray:
        demands = demand_features(X, check_features(self.features), type(self).__name__)
        return np.hstack([demands, self._embeddings(X)])
