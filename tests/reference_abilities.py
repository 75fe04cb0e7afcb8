"""The published ADeLe ability method written the plain way: pandas filters, a loop over level bins,
scikit-learn's ``LogisticRegression`` on expanded rows and trapezoidal integration on a 10,001-point
grid — the reference that the batched path in :mod:`assess.abilities` must match."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from assess.scales import SCALES


def published_weights(levels: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Per-row weights and the anchor weight (None: no anchor), following the toolkit's steps."""
    counts = {level: int(np.sum(levels == level)) for level in (1, 2, 3, 4, 5)}
    total = sum(counts.values())
    if total == 0:
        return np.ones(len(levels)), None
    large = [level for level, count in counts.items() if count >= 100]
    targets: dict[int, float] = {level: float(max(counts[k] for k in large)) for level in large}
    large_mass = sum(targets.values())
    small = [level for level in counts if level not in targets]
    small_total = sum(counts[level] for level in small)
    if small_total > 0 and total > small_total:
        share_total = large_mass / (1 - small_total / total)
    else:
        share_total = large_mass if large_mass > 0 else 1.0
    for level in small:
        targets[level] = counts[level] / total * share_total
    weights = np.zeros(len(levels))
    for level, count in counts.items():
        if count:
            weights[levels == level] = targets[level] / count
    return weights, max(sum(targets.values()), 1.0)


def reference_ability(levels: np.ndarray, correct: np.ndarray, *, tol: float = 1e-4) -> float:
    """One scale's ability in level units; ``tol`` is sklearn's (its default 1e-4 is the toolkit's)."""
    if len(levels) == 0:
        return float("nan")
    weights, anchor = published_weights(levels)
    x, y = levels.astype(float), correct.astype(float)
    if anchor is not None:
        x, y, weights = np.append(x, 20.0), np.append(y, 0.0), np.append(weights, anchor)
    try:
        model = LogisticRegression(random_state=42, max_iter=10_000, tol=tol).fit(x[:, None], y, sample_weight=weights)
    except ValueError:  # one class only: the toolkit scores 0
        return 0.0
    grid = np.linspace(0, 100, 10_001)
    return float(np.trapezoid(model.predict_proba(grid[:, None])[:, 1], grid))


def reference_profile(battery: pd.DataFrame, outcomes: pd.DataFrame, subject: str, *, min_ug: float = 75,
                      level_diff: float = 0, tol: float = 1e-4,
                      scales: tuple[str, ...] = SCALES) -> dict[str, float]:
    """Ability per scale for one subject: UG filter, then the dominance filter over ``scales``."""
    rows = battery.merge(outcomes[outcomes["subject"] == subject], on="instance_id", how="inner")
    if "UG" in rows.columns:
        rows = rows[rows["UG"] >= min_ug]
    present = [s for s in scales if s in rows.columns]
    result = {}
    for scale in present:
        others = [s for s in present if s != scale]
        keep = rows[others].max(axis=1) <= rows[scale] + level_diff if others else rows[scale].notna()
        used = rows[keep]
        result[scale] = reference_ability(used[scale].to_numpy(float), used["correct"].to_numpy(float), tol=tol)
    return result
