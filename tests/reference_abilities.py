"""Plain per-scale scikit-learn implementation of the published ability method: the reference the
fast batched path in :mod:`assess.abilities` must match (used by the tests and the benchmark)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.integrate import quad
from sklearn.linear_model import LogisticRegression

from assess.abilities import ANCHOR_LEVEL
from assess.scales import SCALES


def reference_ability(levels: np.ndarray, correct: np.ndarray) -> float:
    """Expanded rows with balancing weights and the level-20 anchor, sklearn's fit, numeric integration."""
    if len(levels) == 0:
        return float("nan")
    bins = np.floor(levels + 0.5).astype(int)  # halves round up, as the method states
    counts = np.bincount(bins, minlength=6)
    full = max(counts.max(), 100)
    weights = full / np.maximum(counts[bins], 100)
    x = np.append(levels, ANCHOR_LEVEL)[:, None]
    y = np.append(correct, 0)
    w = np.append(weights, full)
    if y.max() == 0:  # one class only: sklearn refuses; the curve is zero everywhere
        return 0.0
    model = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(x, y, sample_weight=w)
    a, b = model.intercept_[0], model.coef_[0, 0]
    return quad(lambda t: 1 / (1 + np.exp(-(a + b * t))), 0, ANCHOR_LEVEL)[0]


def reference_profile(battery: pd.DataFrame, outcomes: pd.DataFrame, subject: str) -> dict[str, float]:
    """Ability per scale for one subject, dominance filter on (ties count)."""
    rows = outcomes[outcomes["subject"] == subject].merge(battery, on="instance_id")
    demands = rows.reindex(columns=list(SCALES)).to_numpy(float)
    top = np.nanmax(np.where(np.isnan(demands), -np.inf, demands), axis=1)
    result = {}
    for s, scale in enumerate(SCALES):
        keep = ~np.isnan(demands[:, s]) & (demands[:, s] >= top)
        result[scale] = reference_ability(demands[keep, s], rows["correct"].to_numpy()[keep])
    return result
