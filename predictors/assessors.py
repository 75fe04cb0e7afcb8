"""Instance-level assessors: predict a subject's success on an instance from its demands and/or text.

All follow scikit-learn's estimator contract (``fit(X, y)``, ``predict_proba(X)``, ``predict``,
``get_params``/``set_params``, ``clone``) and take from the instance table ``X`` only the columns
they need: the annotation columns for :class:`DemandAssessor`, the text column for
:class:`EmbeddingAssessor`, both for :class:`CombinedAssessor` (demand part, embedding part or a
combination of the two, chosen by nested cross-validation, see :mod:`predictors.combine`). Logistic
models on embeddings choose their ``C`` by inner cross-validation on the training rows only
(``C=None``, the default).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from assess.errors import InputError

from .classifiers import fit_weighted, make_classifier
from .combine import CALIBRATIONS, VARIANTS, combiner_of
from .embeddings import DEFAULT_MODEL, embed_texts
from .features import DEMAND_FEATURES, TEXT_COLUMN, check_features, checked_proba, classifier_input, \
    demand_features, graded_target, require_table, texts
from .stacking import LOGISTIC_CS, choose_logistic_C, fit_logistic, inner_splits


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
        return self._fit_rows(X, y, sample_weight, None)

    def _fit_rows(self, X: pd.DataFrame, y: Sequence[float], sample_weight: Sequence[float] | None,
                  groups: Sequence | None) -> "TabularAssessor":
        who = type(self).__name__
        require_table(X, who)
        rows, labels, weight = graded_target(y, len(X), who, sample_weight)
        group_rows = None if groups is None else inner_groups(groups, len(X), who)[rows]
        self.model_ = self._fit_model(self._features(X)[rows], labels, weight, rows, group_rows)
        self.classes_ = np.array([0, 1])
        return self

    def _fit_model(self, features: np.ndarray, target: np.ndarray, weight: np.ndarray | None,
                   units: np.ndarray, groups: np.ndarray | None):
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

    def fit(self, X: pd.DataFrame, y: Sequence[float], sample_weight: Sequence[float] | None = None,
            groups: Sequence | None = None) -> "EmbeddingAssessor":
        """As :meth:`TabularAssessor.fit`; ``groups`` (n,) makes the inner folds that choose ``C`` group k-fold
        (e.g. by task when the test items' tasks are new)."""
        return self._fit_rows(X, y, sample_weight, groups)

    def _fit_model(self, features: np.ndarray, target: np.ndarray, weight: np.ndarray | None,
                   units: np.ndarray, groups: np.ndarray | None):
        if self.classifier != "logistic" or self.C is not None:
            self.C_ = self.C
            model = make_classifier(self.classifier, self.random_state, self.n_jobs, self.C or 1.0)
            fit_weighted(model, features, target, weight)
            return model
        splits = inner_splits(target, self.inner_splits, self.random_state, groups, units, weight)
        self.C_, _ = choose_logistic_C(features, target, splits, LOGISTIC_CS, weight=weight)
        return fit_logistic(features, target, self.C_, random_state=self.random_state, weight=weight)

    def precompute(self, X: pd.DataFrame) -> None:
        """Embed (and cache on disk) every text of ``X`` once, e.g. before parallel cross-validation."""
        self._embeddings(X)

    def _embeddings(self, X: pd.DataFrame) -> np.ndarray:
        return embed_texts(texts(X, self.text_column, type(self).__name__), self.model, self.cache_dir,
                           allow_download=self.allow_download)

    def _features(self, X: pd.DataFrame) -> np.ndarray:
        return self._embeddings(X)


class CombinedAssessor(EmbeddingAssessor):
    """Success from demand levels and text embeddings, combined the way nested cross-validation chooses.

    Inside ``fit``, on ``inner_splits`` folds of the training rows (stratified, or group k-fold over
    ``groups`` when given), :class:`predictors.combine.Combiner` scores the demand part alone
    (``classifier``: the published forest by default), the embedding logistic model alone (``C=None``:
    chosen on the same folds) and the combinations among ``variants`` (``stack``, ``residual``,
    ``boost`` with ``components`` PCA dimensions). Combinations are admitted only if the embedding part
    alone ranks the inner held-out rows better than chance, and any variant only if its level on the
    held-out folds is within ``LEVEL_SLACK`` of the demand part's; the best inner AUROC among the rest
    wins unless a simpler one is within ``margin`` or one standard error. A calibration among
    ``calibrations`` is chosen by cross-fitted ECE under the same rule, and the winner is refitted on
    every training row. ``chosen_`` names it (e.g. ``stack+platt``), ``inner_scores_`` the scores.
    """

    def __init__(self, classifier: str = "forest", features: Sequence[str] = DEMAND_FEATURES,
                 model: str = DEFAULT_MODEL, text_column: str = TEXT_COLUMN, cache_dir: str | None = None,
                 allow_download: bool = False, C: float | None = None, inner_splits: int = 5,
                 variants: Sequence[str] = VARIANTS, calibrations: Sequence[str] = CALIBRATIONS,
                 margin: float = 0.005, components: int = 8, random_state: int | None = 0,
                 n_jobs: int | None = None) -> None:
        super().__init__(classifier, model, text_column, cache_dir, allow_download, C, inner_splits, random_state,
                         n_jobs)
        self.features = features
        self.variants = variants
        self.calibrations = calibrations
        self.margin = margin
        self.components = components

    def _matrices(self, X: pd.DataFrame) -> list[np.ndarray]:
        demands = demand_features(X, check_features(self.features), type(self).__name__)
        return [demands, self._embeddings(X).astype(np.float64)]  # float64: a reloaded model predicts the same

    def _fit_rows(self, X: pd.DataFrame, y: Sequence[float], sample_weight: Sequence[float] | None,
                  groups: Sequence | None) -> "CombinedAssessor":
        who = type(self).__name__
        require_table(X, who)
        combiner = combiner_of(self)
        rows, labels, weight = graded_target(y, len(X), who, sample_weight)
        group_rows = None if groups is None else inner_groups(groups, len(X), who)[rows]
        demands, embeddings = self._matrices(X)
        text_groups = pd.factorize(pd.Series(texts(X, self.text_column, who)))[0][rows]
        splits = inner_splits(labels, self.inner_splits, self.random_state, group_rows, rows, weight)
        self.model_ = combiner.fit(demands[rows], embeddings[rows], labels, splits, weight, text_groups)
        self.chosen_, self.inner_scores_, self.C_ = self.model_.name, self.model_.scores, self.model_.scores["C"]
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 2) probabilities of failure and success from the chosen, calibrated model."""
        check_is_fitted(self, "model_")
        who = type(self).__name__
        return checked_proba(self.model_.predict_proba(*self._matrices(require_table(X, who))), who)


def inner_groups(groups: Sequence, n_rows: int, who: str) -> np.ndarray:
    """``groups`` as one label per row (n,), refused when its length differs or a label is missing."""
    values = pd.Series(np.asarray(groups, dtype=object))
    if len(values) != n_rows:
        raise InputError(f"{who}: groups has {len(values)} entries, expected {n_rows} — one per row", column="groups")
    if values.isna().any():
        raise InputError(f"{who}: groups lacks a value", row=int(np.flatnonzero(values.isna())[0]) + 1, column="groups")
    return pd.factorize(values.astype(str))[0]
