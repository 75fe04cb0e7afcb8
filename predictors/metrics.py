"""Vectorised metrics of success-probability predictions: discrimination, calibration and rejection.

All take ``y`` (0/1 outcomes) and ``p`` (predicted success probabilities) as 1-D arrays.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

N_BINS = 10
#: Default error tolerance of the predictably-valid region.
TOLERANCE = 0.1


def auroc(y: np.ndarray, p: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Area under the ROC curve (rows weighted by ``weight`` (n,) if given); NaN when only one class is present."""
    return float(roc_auc_score(y, p, sample_weight=weight)) if len(np.unique(y)) == 2 else float("nan")


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of the probabilities."""
    return float(np.mean((np.asarray(p, float) - y) ** 2))


def accuracy(y: np.ndarray, p: np.ndarray) -> float:
    """Share of outcomes predicted right when thresholding at 0.5."""
    return float(np.mean((np.asarray(p) >= 0.5) == np.asarray(y).astype(bool)))


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    return np.minimum((np.asarray(p, float) * n_bins).astype(int), n_bins - 1)


def calibration_table(y: np.ndarray, p: np.ndarray, n_bins: int = N_BINS,
                      weight: np.ndarray | None = None) -> pd.DataFrame:
    """Per equal-width bin: count (total ``weight`` if given), mean predicted probability and observed success rate."""
    idx = _bin_index(p, n_bins)
    w = np.ones(len(idx)) if weight is None else np.asarray(weight, float)
    count = np.bincount(idx, minlength=n_bins) if weight is None else np.bincount(idx, weights=w, minlength=n_bins)
    safe = np.where(count > 0, count, 1.0)
    mean_p = np.bincount(idx, weights=w * np.asarray(p, float), minlength=n_bins) / safe
    observed = np.bincount(idx, weights=w * np.asarray(y, float), minlength=n_bins) / safe
    empty = count == 0
    return pd.DataFrame({
        "bin_low": np.arange(n_bins) / n_bins, "bin_high": np.arange(1, n_bins + 1) / n_bins, "count": count,
        "mean_predicted": np.where(empty, np.nan, mean_p), "observed": np.where(empty, np.nan, observed),
    })


def ece(y: np.ndarray, p: np.ndarray, n_bins: int = N_BINS, weight: np.ndarray | None = None) -> float:
    """Expected calibration error: |observed − predicted| per equal-width bin, weighted by the bin's mass."""
    table = calibration_table(y, p, n_bins, weight)
    weights = table["count"].to_numpy() / table["count"].sum()
    gaps = np.abs(table["observed"] - table["mean_predicted"]).fillna(0.0).to_numpy()
    return float(np.sum(weights * gaps))


def accuracy_rejection_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(kept share, accuracy on kept) keeping the k most confident predictions, k = 1..n."""
    y, p = np.asarray(y), np.asarray(p, float)
    confidence = np.abs(p - 0.5)
    order = np.argsort(-confidence, kind="stable")
    right = ((p[order] >= 0.5) == y[order].astype(bool)).astype(float)
    kept = np.arange(1, len(y) + 1)
    return kept / len(y), np.cumsum(right) / kept


def auarc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the accuracy–rejection curve (mean accuracy over all rejection rates)."""
    return float(np.mean(accuracy_rejection_curve(y, p)[1]))


def predictably_valid_share(y: np.ndarray, p: np.ndarray, tolerance: float = TOLERANCE) -> float:
    """Largest share of instances that can be kept (most confident first) with error rate ≤ ``tolerance``."""
    share, acc = accuracy_rejection_curve(y, p)
    valid = np.flatnonzero(1.0 - acc <= tolerance + 1e-12)
    return float(share[valid[-1]]) if len(valid) else 0.0


def score(y: np.ndarray, p: np.ndarray, tolerance: float = TOLERANCE) -> dict[str, float]:
    """Every metric of one set of predictions, plus its size and base rate."""
    y, p = np.asarray(y).astype(int), np.asarray(p, float)
    return {
        "n": int(len(y)), "success_rate": float(np.mean(y)), "auroc": auroc(y, p), "ece": ece(y, p),
        "brier": brier(y, p), "accuracy": accuracy(y, p), "auarc": auarc(y, p),
        "valid_share": predictably_valid_share(y, p, tolerance),
    }


METRICS: tuple[str, ...] = ("auroc", "ece", "brier", "accuracy", "auarc", "valid_share")
