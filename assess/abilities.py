"""Ability profiles: per subject and scale, a logistic characteristic curve and the area under it.

The published method, per scale:

* keep the instances whose level on that scale is the highest of their 18 demands (ties count),
  unless ``dominant_only=False``;
* fit a logistic curve of success against level with level-balancing sample weights: each
  instance in a level bin of ``n`` instances weighs ``M / max(n, 100)``, where ``M`` is the size
  of the largest bin (at least 100) — bins of 100 or more instances all end up with the mass of
  the largest one, smaller bins proportionally less;
* add a synthetic failure anchor at level 20 with the mass of one full bin (``M``), so that the
  curve falls to zero beyond the annotated range;
* L2 penalty on the slope as scikit-learn's default (``C = 1``, intercept unpenalised);
* ability = area under the fitted curve from level 0 to the anchor, in level units: a steep curve
  that crosses 50 % at level 3 has ability about 3.

Speed: success depends on level only, so each fit reduces to a handful of weighted cells
(distinct levels × success/failure). Bootstrap replicates resample instances, which is a
multinomial draw over those cells. All (subject × scale × replicate) fits then run as one
batched Newton iteration on arrays — no Python loop over fits.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .scales import SCALES

ANCHOR_LEVEL = 20.0
MIN_FULL_BIN = 100
PENALTY_C = 1.0


@dataclass(frozen=True)
class Cells:
    """Aggregated data of many fits: ``levels`` (J,) shared; ``success``/``failure`` counts (K, J)."""

    levels: np.ndarray
    success: np.ndarray
    failure: np.ndarray


def dominant_mask(demands: np.ndarray) -> np.ndarray:
    """(n, S) bool: True where a scale's level is the instance's highest demand (ties count; NaN never)."""
    with np.errstate(invalid="ignore"):
        top = np.nanmax(np.where(np.isnan(demands), -np.inf, demands), axis=1, keepdims=True)
        return ~np.isnan(demands) & (demands >= top)


def level_bins(levels: np.ndarray) -> np.ndarray:
    """Integer level bin of each level; halves go up (2.5 → 3), unlike numpy's round-half-to-even."""
    return np.floor(np.asarray(levels, dtype=float) + 0.5)


def subject_seed(seed: int, subject: str) -> int:
    """A bootstrap seed per subject that does not depend on which other subjects are profiled with it."""
    return (seed * 1_000_003 + zlib.crc32(subject.encode("utf-8"))) % 2**32


def balancing_weights(counts: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-instance weights (K, J) ``M / max(n_bin, 100)`` and the full-bin mass ``M`` (K,).

    Cells are grouped into integer level bins (:func:`level_bins`); ``M`` is the largest bin's size,
    at least 100.
    """
    bins = level_bins(levels)
    bin_ids = np.unique(bins)
    per_bin = np.stack([counts[:, bins == b].sum(axis=1) for b in bin_ids], axis=1)  # (K, B)
    full_bin = np.maximum(per_bin.max(axis=1, initial=0), MIN_FULL_BIN)  # (K,)
    cell_bin_size = per_bin[:, np.searchsorted(bin_ids, bins)]  # (K, J)
    return full_bin[:, None] / np.maximum(cell_bin_size, MIN_FULL_BIN), full_bin


def fit_curves(cells: Cells, *, c: float = PENALTY_C, iterations: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Fit all K weighted logistic curves at once; return (K, 2) of (intercept, slope).

    Minimises ``c * sum_i w_i * logloss_i + slope**2 / 2`` (scikit-learn's objective) by
    damped Newton steps, with the level-balancing weights and the level-20 anchor added here.
    """
    counts = cells.success + cells.failure
    weights, anchor_mass = balancing_weights(counts, cells.levels)
    x = np.append(cells.levels, ANCHOR_LEVEL)  # (J+1,)
    pos = np.concatenate([cells.success * weights, np.zeros((counts.shape[0], 1))], axis=1) * c
    neg = np.concatenate([cells.failure * weights, anchor_mass[:, None]], axis=1) * c
    total = pos + neg
    params = np.zeros((counts.shape[0], 2))
    params[:, 0] = np.log((pos.sum(1) + 0.5) / (neg.sum(1) + 0.5))
    active = counts.sum(axis=1) > 0
    for _ in range(iterations):
        eta = params[:, :1] + params[:, 1:] * x
        p = _sigmoid(eta)
        resid = total * p - pos  # d loss / d eta per cell
        g0 = resid.sum(1)
        g1 = (resid * x).sum(1) + params[:, 1]
        h = total * p * (1 - p)
        h00, h01, h11 = h.sum(1), (h * x).sum(1), (h * x * x).sum(1) + 1.0
        det = h00 * h11 - h01 * h01
        # An all-failure fit has no finite optimum: its curve flattens to zero, the Hessian vanishes, stop there.
        settled = ~active | (det < 1e-12)
        det = np.where(settled, 1.0, det)
        step = np.stack([(h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det], axis=1)
        step[settled] = 0.0
        scale = np.minimum(1.0, 5.0 / np.maximum(np.abs(step).max(axis=1, keepdims=True), 1e-300))
        params -= step * scale
        if np.all(np.abs(step) < tol):
            break
    return params


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def area_under_curve(params: np.ndarray, upper: float = ANCHOR_LEVEL) -> np.ndarray:
    """Area under ``sigmoid(a + b x)`` for x in [0, upper], in closed form (softplus antiderivative)."""
    a, b = params[:, 0], params[:, 1]
    flat = np.abs(b) < 1e-9
    safe_b = np.where(flat, 1.0, b)
    area = (np.logaddexp(0, a + safe_b * upper) - np.logaddexp(0, a)) / safe_b
    return np.where(flat, upper * _sigmoid(a), area)


def _cells_for(levels: np.ndarray, correct: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Success and failure counts of one fit over the level ``grid``."""
    index = np.searchsorted(grid, levels)
    success = np.bincount(index, weights=correct, minlength=len(grid))
    total = np.bincount(index, minlength=len(grid))
    return success, total - success


def _fit_subject(demands: np.ndarray, correct: np.ndarray, mask: np.ndarray, *, bootstrap: int,
                 seed: int) -> dict[str, np.ndarray]:
    """Fit one subject's curves on every scale; arrays indexed by scale.

    ``demands`` (n, S) levels (NaN = missing), ``correct`` (n,) 0/1, ``mask`` (n, S) the instances each
    scale's curve uses. Returns intercept, slope, ability, ci_low, ci_high, n, plus ``grid`` (J,) and
    per-scale ``success``/``failure`` counts (S, J) for the empirical points.
    """
    finite = demands[~np.isnan(demands)]
    grid = np.unique(finite) if finite.size else np.arange(6, dtype=float)
    success = np.zeros((demands.shape[1], len(grid)))
    failure = np.zeros_like(success)
    for s in range(demands.shape[1]):
        keep = mask[:, s]
        success[s], failure[s] = _cells_for(demands[keep, s], correct[keep].astype(float), grid)
    params = fit_curves(Cells(grid, success, failure))
    result = {
        "intercept": params[:, 0],
        "slope": params[:, 1],
        "ability": area_under_curve(params),
        "n": (success + failure).sum(axis=1).astype(int),
        "grid": grid,
        "success": success,
        "failure": failure,
    }
    result["ability"] = np.where(result["n"] > 0, result["ability"], np.nan)
    result["ci_low"], result["ci_high"] = _bootstrap_interval(success, failure, grid, bootstrap, seed, result["n"])
    return result


def _bootstrap_interval(
    success: np.ndarray, failure: np.ndarray, grid: np.ndarray, replicates: int, seed: int, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """95 % percentile intervals from resampling instances: multinomial draws over the cells."""
    nan = np.full(len(n), np.nan)
    if replicates <= 0:
        return nan, nan.copy()
    rng = np.random.default_rng(seed)
    cells = np.concatenate([success, failure], axis=1)  # (S, 2J)
    total = cells.sum(axis=1)
    probs = cells / np.maximum(total, 1)[:, None]
    draws = np.stack([rng.multinomial(int(t), p, size=replicates) if t > 0 else np.zeros((replicates, cells.shape[1]))
                      for t, p in zip(total, probs)])  # (S, R, 2J)
    j = len(grid)
    flat = draws.reshape(-1, 2 * j)
    abilities = area_under_curve(fit_curves(Cells(grid, flat[:, :j], flat[:, j:]))).reshape(len(n), replicates)
    low, high = np.percentile(abilities, [2.5, 97.5], axis=1)
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def ability_table(battery: pd.DataFrame, outcomes: pd.DataFrame, subjects: list[str] | None = None,
                  **options) -> pd.DataFrame:
    """One row per subject × scale: ability, ci_low, ci_high, n, intercept, slope.

    ``options`` are those of :func:`profiles` (scales, bootstrap, seed, dominant_only).
    """
    return profiles(battery, outcomes, subjects, **options)[0]


def profiles(
    battery: pd.DataFrame,
    outcomes: pd.DataFrame,
    subjects: list[str] | None = None,
    *,
    scales: tuple[str, ...] = SCALES,
    bootstrap: int = 0,
    seed: int = 0,
    dominant_only: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ability table and the per-level empirical success table (subject, scale, level, n, successes, rate).

    The dominance filter always looks at all 18 scales; ``scales`` only chooses which curves to fit.
    """
    subjects = subjects if subjects is not None else sorted(outcomes["subject"].unique())
    index = pd.Index(battery["instance_id"])
    all_demands = battery.reindex(columns=list(SCALES)).to_numpy(dtype=float)  # absent column = not annotated
    mask_all = dominant_mask(all_demands) if dominant_only else ~np.isnan(all_demands)
    columns = [SCALES.index(s) for s in scales]
    rows, points = [], []
    for subject in subjects:
        mine = outcomes[outcomes["subject"] == subject]
        position = index.get_indexer(mine["instance_id"])
        position, correct = position[position >= 0], mine["correct"].to_numpy()[position >= 0]
        fit = _fit_subject(all_demands[position][:, columns], correct, mask_all[position][:, columns],
                           bootstrap=bootstrap, seed=subject_seed(seed, subject))
        rows.append(pd.DataFrame({"subject": subject, "scale": list(scales), "ability": fit["ability"],
                                  "ci_low": fit["ci_low"], "ci_high": fit["ci_high"], "n": fit["n"],
                                  "intercept": fit["intercept"], "slope": fit["slope"]}))
        counts = fit["success"] + fit["failure"]
        s_idx, j_idx = np.nonzero(counts)
        points.append(pd.DataFrame({"subject": subject, "scale": np.asarray(scales)[s_idx],
                                    "level": fit["grid"][j_idx], "n": counts[s_idx, j_idx].astype(int),
                                    "successes": fit["success"][s_idx, j_idx].astype(int)}))
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    empirical = pd.concat(points, ignore_index=True) if points else pd.DataFrame()
    if len(empirical):
        empirical["rate"] = empirical["successes"] / empirical["n"]
    return table, empirical
