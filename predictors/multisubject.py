"""One assessor for many subjects: demands plus the subject's ability profile as features.

A profile is a mapping ``subject -> {scale: ability}``. Because subjects enter only through their
profile, a model never seen in training gets predictions as soon as it has a profile: pass it to
``predict_proba(X, profiles=...)`` — no retraining.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from assess.errors import InputError

from .classifiers import fit_weighted, make_classifier
from .features import DEMAND_FEATURES, SUBJECT_COLUMN, check_features, checked_proba, classifier_input, \
    demand_features, graded_target, require_columns, require_table

Profiles = Mapping[str, Mapping[str, float]]


def profiles_from_table(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Wide profiles from a long ability table (columns subject, scale, ability, as ``ability_table`` returns)."""
    require_columns(table, ["subject", "scale", "ability"], "profiles_from_table")
    wide = table.pivot_table(index="subject", columns="scale", values="ability", aggfunc="first")
    return {str(subject): {str(k): float(v) for k, v in row.items() if pd.notna(v)} for subject, row in wide.iterrows()}


class MultiSubjectAssessor(ClassifierMixin, BaseEstimator):
    """Success of any subject on any instance from (demands, abilities, ability − demand margins).

    ``X`` needs the demand columns and a ``subject`` column; ``profiles`` gives every subject's
    abilities. Scales used for abilities are those every training subject has.
    """

    def __init__(self, profiles: Profiles | None = None, classifier: str = "forest",
                 features: Sequence[str] = DEMAND_FEATURES, subject_column: str = SUBJECT_COLUMN,
                 random_state: int | None = 0, n_jobs: int | None = None) -> None:
        self.profiles = profiles
        self.classifier = classifier
        self.features = features
        self.subject_column = subject_column
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _design(self, X: pd.DataFrame, profiles: Profiles) -> np.ndarray:
        who = type(self).__name__
        require_table(X, who)
        require_columns(X, [self.subject_column], who)
        features = check_features(self.features)
        demands = demand_features(X, features, who)
        subjects = X[self.subject_column].astype(str).to_numpy()
        names, index = np.unique(subjects, return_inverse=True)
        table = np.array([self._ability_row(name, profiles, X, subjects) for name in names], dtype=float)
        abilities = table[index].reshape(len(X), len(self.ability_scales_))
        paired = [features.index(s) for s in self.ability_scales_ if s in features]
        with_demand = [i for i, s in enumerate(self.ability_scales_) if s in features]
        return np.hstack([demands, abilities, abilities[:, with_demand] - demands[:, paired]])

    def _ability_row(self, subject: str, profiles: Profiles, X: pd.DataFrame, subjects: np.ndarray) -> list[float]:
        profile = profiles.get(subject)
        row = int(np.flatnonzero(subjects == subject)[0])
        instance = str(X["instance_id"].iloc[row]) if "instance_id" in X.columns else None
        if profile is None:
            raise InputError(f"no ability profile for subject {subject!r}; pass one in profiles", row=row + 1,
                             instance_id=instance, column=self.subject_column)
        lacking = [s for s in self.ability_scales_ if s not in profile or profile[s] is None or np.isnan(profile[s])]
        if lacking:
            raise InputError(f"ability profile of subject {subject!r} lacks scale(s) {', '.join(lacking)}",
                             row=row + 1, instance_id=instance, column=self.subject_column)
        return [float(profile[s]) for s in self.ability_scales_]

    def fit(self, X: pd.DataFrame, y: Sequence[float],
            sample_weight: Sequence[float] | None = None) -> "MultiSubjectAssessor":
        """Learn from the outcomes of many subjects (one row per subject × instance).

        ``y`` and ``sample_weight`` as in :meth:`predictors.assessors.TabularAssessor.fit` (graded outcomes
        as success rates with their trials as weights).
        """
        who = type(self).__name__
        require_table(X, who)
        require_columns(X, [self.subject_column], who)
        if not self.profiles:
            raise InputError(f"{who} needs profiles: a mapping subject -> {{scale: ability}}")
        rows, labels, weight = graded_target(y, len(X), who, sample_weight)
        subjects = sorted(X[self.subject_column].astype(str).unique())
        missing = [s for s in subjects if s not in self.profiles]
        if missing:
            raise InputError(f"no ability profile for subject(s) {', '.join(map(repr, missing))}",
                             column=self.subject_column)
        common = set.intersection(*(set(k for k, v in self.profiles[s].items() if v is not None) for s in subjects))
        features = list(self.features)
        self.ability_scales_ = [s for s in features if s in common] + sorted(common - set(features))
        self.profiles_ = {s: {k: float(v) for k, v in self.profiles[s].items()} for s in subjects}
        self.model_ = self._fit_model(X.iloc[rows], labels, weight)
        self.classes_ = np.array([0, 1])
        return self

    def _fit_model(self, X: pd.DataFrame, target: np.ndarray, weight: np.ndarray | None = None):
        model = make_classifier(self.classifier, self.random_state, self.n_jobs)
        fit_weighted(model, self._design(X, self.profiles_), target, weight)
        return model

    def predict_proba(self, X: pd.DataFrame, profiles: Profiles | None = None) -> np.ndarray:
        """(n, 2) probabilities; ``profiles`` adds (or overrides) subjects unseen in training."""
        check_is_fitted(self, "model_")
        merged = {**self.profiles_, **{str(k): dict(v) for k, v in (profiles or {}).items()}}
        who = type(self).__name__
        return checked_proba(self.model_.predict_proba(classifier_input(self.model_, self._design(X, merged), who)), who)

    def predict(self, X: pd.DataFrame, profiles: Profiles | None = None) -> np.ndarray:
        """Predicted outcome (1 when success probability ≥ 0.5)."""
        return (self.predict_proba(X, profiles)[:, 1] >= 0.5).astype(int)
