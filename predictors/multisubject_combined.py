"""The multi-subject assessor with text: its demand + ability forest, an embedding model, or a combination.

The tabular part is the multi-subject forest (demands, abilities, margins); the text part a logistic
model of pooled success on the instance text (how hard the text looks to a typical subject). Which
of them — or which combination (stack, residual, boosted trees on the design plus PCA-reduced
embeddings), with which calibration — is chosen by :class:`predictors.combine.Combiner` on inner
folds that mimic a new subject on new instances: subjects in groups × instances in folds, each
candidate fitted on the other subjects' outcomes on the other instances and scored on the held-out
block, so nothing is scored on a subject or instance it saw.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_is_fitted

from .combine import CALIBRATIONS, VARIANTS, combiner_of
from .embeddings import DEFAULT_MODEL, embed_texts
from .features import DEMAND_FEATURES, SUBJECT_COLUMN, TEXT_COLUMN, checked_proba, texts
from .multisubject import MultiSubjectAssessor, Profiles
from .stacking import Split


def block_splits(subjects: np.ndarray, instances: np.ndarray, n_splits: int, random_state: int | None) -> list[Split]:
    """Fold k trains on rows of subjects outside group k and instances outside fold k, tests on group k × fold k."""
    rng = np.random.default_rng(random_state)
    names = rng.permutation(np.unique(subjects))
    ids = np.unique(instances)
    k = min(n_splits, len(ids))
    groups = np.array_split(names, min(k, len(names)))
    splits = []
    for fold, (_, held_ids) in enumerate(KFold(k, shuffle=True, random_state=random_state).split(ids)):
        held_instance = np.isin(instances, ids[held_ids])
        held_subject = np.isin(subjects, groups[fold % len(groups)])
        other_subject = ~held_subject if len(names) > 1 else np.ones(len(subjects), bool)
        splits.append((np.flatnonzero(~held_instance & other_subject), np.flatnonzero(held_instance & held_subject)))
    return splits


class MultiSubjectCombinedAssessor(MultiSubjectAssessor):
    """:class:`MultiSubjectAssessor`, a pooled embedding model of the instance text, or a combination of both.

    ``X`` also needs ``text_column``; everything else, including ``predict_proba(X, profiles=...)``
    for subjects never seen in training and graded outcomes, works as in the multi-subject assessor.
    ``variants``, ``calibrations``, ``margin``, ``components``, ``C`` as in
    :class:`predictors.CombinedAssessor`; ``chosen_`` names the winner.
    """

    def __init__(self, profiles: Profiles | None = None, classifier: str = "forest",
                 features: Sequence[str] = DEMAND_FEATURES, subject_column: str = SUBJECT_COLUMN,
                 model: str = DEFAULT_MODEL, text_column: str = TEXT_COLUMN, cache_dir: str | None = None,
                 allow_download: bool = False, C: float | None = None, inner_splits: int = 5,
                 variants: Sequence[str] = VARIANTS, calibrations: Sequence[str] = CALIBRATIONS,
                 margin: float = 0.005, components: int = 8, random_state: int | None = 0,
                 n_jobs: int | None = None) -> None:
        super().__init__(profiles, classifier, features, subject_column, random_state, n_jobs)
        self.model = model
        self.text_column = text_column
        self.cache_dir = cache_dir
        self.allow_download = allow_download
        self.C = C
        self.inner_splits = inner_splits
        self.variants = variants
        self.calibrations = calibrations
        self.margin = margin
        self.components = components

    def precompute(self, X: pd.DataFrame) -> None:
        """Embed (and cache on disk) every text of ``X`` once."""
        self._embeddings(X)

    def _embeddings(self, X: pd.DataFrame) -> np.ndarray:
        return embed_texts(texts(X, self.text_column, type(self).__name__), self.model, self.cache_dir,
                           allow_download=self.allow_download).astype(np.float64)

    def _fit_model(self, X: pd.DataFrame, target: np.ndarray, weight: np.ndarray | None = None):
        combiner = combiner_of(self)
        subjects = X[self.subject_column].astype(str).to_numpy()
        instances = (X["instance_id"] if "instance_id" in X.columns else X[self.text_column]).astype(str).to_numpy()
        splits = block_splits(subjects, instances, self.inner_splits, self.random_state)
        model = combiner.fit(self._design(X, self.profiles_), self._embeddings(X), target, splits, weight,
                             pd.factorize(instances)[0])
        self.chosen_, self.inner_scores_, self.C_ = model.name, model.scores, model.scores["C"]
        return model

    def predict_proba(self, X: pd.DataFrame, profiles: Profiles | None = None) -> np.ndarray:
        """(n, 2) probabilities; ``profiles`` adds (or overrides) subjects unseen in training."""
        check_is_fitted(self, "model_")
        merged = {**self.profiles_, **{str(k): dict(v) for k, v in (profiles or {}).items()}}
        return checked_proba(self.model_.predict_proba(self._design(X, merged), self._embeddings(X)),
                             type(self).__name__)
