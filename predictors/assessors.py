"""Instance-level assessors: predict a subject's success on an instance from its demands and/or text.

All follow scikit-learn's estimator contract (``fit(X, y)``, ``predict_proba(X)``, ``predict``,
``get_params``/``set_params``, ``clone``) and take from the instance table ``X`` only the columns
they need: the annotation columns for :class:`DemandAssessor`, the text column for
:class:`EmbeddingAssessor`, both for :class:`CombinedAssessor` (a stack of the two, see
:mod:`predictors.stacking`). Logistic models on embeddings choose their ``C`` by inner
cross-validation on the training rows only (``C=None``, the default).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .classifiers import fit_weighted, make_classifier
from .embeddings import DEFAULT_MODEL, embed_texts
from .features import DEMAND_FEATURES, TEXT_COLUMN, binary_target, check_features, checked_proba, classifier_input, \
    demand_features, graded_target, require_table, texts
from .stacking import LOGISTIC_CS, choose_logistic_C, classifier_part, fit_stack, inner_splits, tuned_logistic_part

#: Inverse L2 strength of the logistic classifier on embeddings when graded (weighted) outcomes leave
#: no room for the inner choice of ``C`` (chosen on held-out folds, see README).
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
        self.model_ = self._fit_model(self._features(X)[rows], labels, weight)
        self.classes_ = np.array([0, 1])
        return self

    def _fit_model(self, features: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None):
        model = make_classifier(self.classifier, self.random_state, self.n_jobs, self.C)
        fit_weighted(model, features, target, weight)
        return model

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 2) probabilities of failure and success."""
        check_is_fitted(self, "model_")
        who = type(self).__name__
        features = classifier_input(self.model_, self._features(require_table(X, who)), who)
        return checked_proba(self.model_.predict_proba(features), who)

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
    """Success from MiniLM sentence embeddings of the instance text (cached on disk).

    With the ``logistic`` classifier and ``C=None``, ``C`` is chosen among ``LOGISTIC_CS`` by
    out-of-fold log loss over ``inner_splits`` stratified folds of the training rows (``C_`` after fit).
    """

    def __init__(self, classifier: str = "logistic", model: str = DEFAULT_MODEL, text_column: str = TEXT_COLUMN,
                 cache_dir: str | None = None, allow_download: bool = False, C: float | None = None,
                 inner_splits: int = 5, random_state: int | None = 0, n_jobs: int | None = None) -> None:
        self.classifier = classifier
        self.C = C
        self.model = model
        self.text_column = text_column
        self.cache_dir = cache_dir
        self.allow_download = allow_download
        self.inner_splits = inner_splits
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _fit_model(self, features: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None):
        if self.classifier != "logistic" or self.C is not None or weight is not None:
            # graded outcomes (weighted rows) keep the fixed EMBEDDING_C: the inner choice is unweighted
            self.C_ = self.C if self.C is not None else (EMBEDDING_C if self.classifier == "logistic" else None)
            model = make_classifier(self.classifier, self.random_state, self.n_jobs, self.C_ or 1.0)
            fit_weighted(model, features, target, weight)
            return model
        self.C_, _ = choose_logistic_C(features, target, inner_splits(target, self.inner_splits, self.random_state),
                                       LOGISTIC_CS)
        return make_classifier("logistic", self.random_state, C=self.C_).fit(features, target)

    def precompute(self, X: pd.DataFrame) -> None:
        """Embed (and cache on disk) every text of ``X`` once, e.g. before parallel cross-validation."""
        self._embeddings(X)

    def _embeddings(self, X: pd.DataFrame) -> np.ndarray:
        return embed_texts(texts(X, self.text_column, type(self).__name__), self.model, self.cache_dir,
                           allow_download=self.allow_download)

    def _features(self, X: pd.DataFrame) -> np.ndarray:
        return self._embeddings(X)


class CombinedAssessor(EmbeddingAssessor):
    """Success from demand levels and text embeddings, stacked.

    Out-of-fold success probabilities (``inner_splits`` stratified folds of the training rows) of a
    demand model (``classifier``: the published forest by default) and of a logistic model on the
    embeddings (``C=None``: chosen on the same folds) feed a logistic meta-model on their logits;
    both parts are then refitted on every training row. ``model_.weights`` are the meta-model's
    weights on (demand, embedding).
    """

    def __init__(self, classifier: str = "forest", features: Sequence[str] = DEMAND_FEATURES,
                 model: str = DEFAULT_MODEL, text_column: str = TEXT_COLUMN, cache_dir: str | None = None,
                 allow_download: bool = False, C: float | None = None, inner_splits: int = 5,
                 random_state: int | None = 0, n_jobs: int | None = None) -> None:
        super().__init__(classifier, model, text_column, cache_dir, allow_download, C, inner_splits, random_state,
                         n_jobs)
        self.features = features

    def _matrices(self, X: pd.DataFrame) -> list[np.ndarray]:
        demands = demand_features(X, check_features(self.features), type(self).__name__)
        return [demands, self._embeddings(X)]

    def fit(self, X: pd.DataFrame, y: Sequence[int]) -> "CombinedAssessor":
        """Fit both parts out of fold, the meta-model on their held-out predictions, then both parts on all rows."""
        who = type(self).__name__
        require_table(X, who)
        target = binary_target(y, len(X), who)
        demands, embeddings = self._matrices(X)
        text_part = (tuned_logistic_part(self.random_state) if self.C is None
                     else classifier_part("logistic", self.random_state, self.n_jobs, self.C))
        self.model_ = fit_stack([(classifier_part(self.classifier, self.random_state, self.n_jobs), demands),
                                 (text_part, embeddings)],
                                target, inner_splits(target, self.inner_splits, self.random_state))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 2) probabilities of failure and success from the meta-model."""
        check_is_fitted(self, "model_")
        return np.asarray(self.model_.predict_proba(self._matrices(require_table(X, type(self).__name__))), float)
