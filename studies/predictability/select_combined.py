"""Which combined assessor? Three candidates compared by nested cross-validation on training data only.

Candidates (each sees the demand levels and the MiniLM embedding of the prompt):

* ``stack`` — :class:`predictors.CombinedAssessor`: out-of-fold probabilities of the demand forest
  and of a logistic model on the embeddings (C by inner CV) → logistic meta-model on their logits;
* ``pca-gbm`` — demands + the embeddings reduced by PCA to 8 dimensions → gradient-boosted trees
  (XGBoost, the library's settings);
* ``residual`` — the demand forest, then a ridge regression of its out-of-fold residual
  (y − p) on the embeddings, added back and clipped to [0.001, 0.999].

Per subject: outer stratified folds; inside each outer training set, inner stratified folds score
every candidate (AUROC); the best is refitted on the outer training set and scored on the outer
test fold. Reported: how often each candidate wins the inner comparison, each candidate's outer
AUROC, and the outer AUROC of the selected one — the test folds never choose.

    python studies/predictability/select_combined.py --subjects 3 --outer 3 --inner 3
"""
from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.decomposition import PCA
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import StratifiedKFold

from assess.atomic import write_text
from assess.battery import join
from predictors import CombinedAssessor
from predictors.classifiers import make_classifier
from predictors.features import DEMAND_FEATURES, demand_features
from predictors.metrics import auroc
from predictors.stacking import inner_splits, out_of_fold
from run import HERE, annotated_sample, pick_subjects


class _Parts(ClassifierMixin, BaseEstimator):
    """Demand matrix and embeddings of a battery table (the embedding cache does the work)."""

    def _parts(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return demand_features(X, list(DEMAND_FEATURES), type(self).__name__), CombinedAssessor()._embeddings(X)


class PcaGbm(_Parts):
    def __init__(self, components: int = 8, random_state: int = 0) -> None:
        self.components = components
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y) -> "PcaGbm":
        demands, embeddings = self._parts(X)
        self.pca_ = PCA(self.components, random_state=self.random_state).fit(embeddings)
        self.model_ = make_classifier("xgboost", self.random_state).fit(
            np.hstack([demands, self.pca_.transform(embeddings)]), np.asarray(y))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        demands, embeddings = self._parts(X)
        return self.model_.predict_proba(np.hstack([demands, self.pca_.transform(embeddings)]))


class Residual(_Parts):
    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y) -> "Residual":
        demands, embeddings = self._parts(X)
        y = np.asarray(y)
        forest = make_classifier("forest", self.random_state)
        p = out_of_fold(forest, demands, y, inner_splits(y, 5, self.random_state))
        self.forest_ = clone(forest).fit(demands, y)
        self.ridge_ = RidgeCV(alphas=np.logspace(-1, 4, 11)).fit(embeddings, y - p)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        demands, embeddings = self._parts(X)
        p = np.clip(self.forest_.predict_proba(demands)[:, 1] + self.ridge_.predict(embeddings), 0.001, 0.999)
        return np.column_stack([1 - p, p])


CANDIDATES = {"stack": CombinedAssessor(), "pca-gbm": PcaGbm(), "residual": Residual()}


def cv_auroc(model, rows: pd.DataFrame, y: np.ndarray, folds: int, seed: int) -> float:
    p = np.empty(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, y):
        p[test] = clone(model).fit(rows.iloc[train], y[train]).predict_proba(rows.iloc[test])[:, 1]
    return auroc(y, p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=3)
    parser.add_argument("--outer", type=int, default=3)
    parser.add_argument("--inner", type=int, default=3)
    args = parser.parse_args()
    battery, outcomes = annotated_sample(None, None)
    rows_out, wins = [], Counter()
    for subject in pick_subjects(outcomes, args.subjects):
        rows = join(battery, outcomes, subject).reset_index(drop=True)
        y = rows["correct"].to_numpy()
        outer_p = {name: np.empty(len(y)) for name in [*CANDIDATES, "selected"]}
        for fold, (train, test) in enumerate(StratifiedKFold(args.outer, shuffle=True, random_state=0).split(rows, y)):
            inner = {name: cv_auroc(model, rows.iloc[train], y[train], args.inner, fold)
                     for name, model in CANDIDATES.items()}
            chosen = max(inner, key=inner.get)
            wins[chosen] += 1
            for name, model in CANDIDATES.items():
                p = clone(model).fit(rows.iloc[train], y[train]).predict_proba(rows.iloc[test])[:, 1]
                outer_p[name][test] = p
                if name == chosen:
                    outer_p["selected"][test] = p
            print(subject, fold, {k: round(v, 3) for k, v in inner.items()}, "->", chosen, flush=True)
        rows_out.append({"subject": subject, **{name: auroc(y, p) for name, p in outer_p.items()}})
    table = pd.DataFrame(rows_out)
    lines = ["| subject | " + " | ".join(c for c in table.columns[1:]) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join([r["subject"], *(f"{r[c]:.3f}" for c in table.columns[1:])]) + " |"
              for _, r in table.iterrows()]
    lines.append("| mean | " + " | ".join(f"{table[c].mean():.3f}" for c in table.columns[1:]) + " |")
    text = (f"Outer AUROC ({args.outer} outer × {args.inner} inner stratified folds); inner wins: "
            f"{', '.join(f'{k} {v}' for k, v in wins.most_common())}\n\n" + "\n".join(lines) + "\n")
    write_text(HERE / "results" / "select_combined.md", text)
    print(text)


if __name__ == "__main__":
    main()
