"""The multi-subject assessor with text: its demand + ability forest stacked with an embedding model.

The embedding part is a logistic model of pooled success on the instance text (how hard the text
looks to a typical subject); the meta-model combines its logit with the forest's, which carries the
subject through its ability profile. Inner folds mimic a new subject on new instances: subjects in
groups × instances in folds, each part fitted on the other subjects' outcomes on the other instances
and predicting the held-out block, so neither part is scored on a subject or instance it saw.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_is_fitted

from assess.errors import InputError

from .embeddings import DEFAULT_MODEL, embed_texts
from .features import DEMAND_FEATURES, SUBJECT_COLUMN, TEXT_COLUMN, texts
from .multisubject import MultiSubjectAssessor, Profiles
from .stacking import Split, classifier_part, fit_stack, tuned_logistic_part


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
    """:class:`MultiSubjectAssessor` stacked with a pooled embedding model of the instance text.

    ``X`` also needs ``text_column``; everything else, including ``predict_proba(X, profiles=...)``
    for subjects never seen in training, works as in the multi-subject assessor.
    """

    def __init__(self, profiles: Profiles | None = None, classifier: str = "forest",
                 features: Sequence[str] = DEMAND_FEATURES, subject_column: str = SUBJECT_COLUMN,
                 model: str = DEFAULT_MODEL, text_column: str = TEXT_COLUMN, cache_dir: str | None = None,
                 allow_download: bool = False, inner_splits: int = 5, random_state: int | None = 0,
                 n_jobs: int | None = None) -> None:
        super().__init__(profiles, classifier, features, subject_column, random_state, n_jobs)
        self.model = model
        self.text_column = text_column
        self.cache_dir = cache_dir
        self.allow_download = allow_download
        self.inner_splits = inner_splits

    def precompute(self, X: pd.DataFrame) -> None:
        """Embed (and cache on disk) every text of ``X`` once."""
        self._embeddings(X)

    def _embeddings(self, X: pd.DataFrame) -> np.ndarray:
        return embed_texts(texts(X, self.text_column, type(self).__name__), self.model, self.cache_dir,
                           allow_download=self.allow_download)

    def _fit_model(self, X: pd.DataFrame, target: np.ndarray, weight: np.ndarray | None = None):
        if weight is not None:
            raise InputError(f"{type(self).__name__} learns from 0/1 outcomes only; graded outcomes need an "
                             "assessor with sample weights (demand, embedding, multisubject)")
        subjects = X[self.subject_column].astype(str).to_numpy()
        instances = (X["instance_id"] if "instance_id" in X.columns else X[self.text_column]).astype(str).to_numpy()
        splits = block_splits(subjects, instances, self.inner_splits, self.random_state)
        forest = classifier_part(self.classifier, self.random_state, self.n_jobs)
        return fit_stack([(forest, self._design(X, self.profiles_)),
                          (tuned_logistic_part(self.random_state, groups=instances), self._embeddings(X))], target, splits)

    def predict_proba(self, X: pd.DataFrame, profiles: Profiles | None = None) -> np.ndarray:
        """(n, 2) probabilities; ``profiles`` adds (or overrides) subjects unseen in training."""
        check_is_fitted(self, "model_")
        merged = {**self.profiles_, **{str(k): dict(v) for k, v in (profiles or {}).items()}}
        return np.asarray(self.model_.predict_proba([self._design(X, merged), self._embeddings(X)]), float)
