"""Ability profiles by scale characteristic curves (SCC), exactly as the published ADeLe code fits them.

The reference is the official toolkit's ``src/adele/analysis/ability.py`` (``compute_ability_scores``
with ``LogisticAbilityModel`` and ``_compute_sample_weights_with_anchor``). Its choices, each kept:

1. **Unguessability filter.** Only instances with ``UG >= min_ug`` (default 75) are used. An
   instance whose UG is missing fails the comparison and is dropped, as in the toolkit; both kinds
   of exclusion are counted (``excluded_low_ug``, ``excluded_missing_ug``). A battery without a UG
   column is not filtered.
2. **Dominance filter.** For scale *s*, an instance counts when every other demand is at most its
   level on *s* plus ``level_diff`` (default 0; ties count). Missing demands are skipped in that
   maximum; an instance missing its level on *s*, or missing every other demand, does not count.
   The other demands are all level scales of the battery (``dominance_scales``), not only the ones
   whose curves are fitted.
3. **Balancing weights over the level bins 1–5**, a bin being instances at exactly that level:
   level-0 (and fractional) instances weigh nothing; a bin of at least 100 instances gets a target
   mass equal to the largest such bin; the other bins keep their share of the total, target
   ``count / total * T`` with ``T = E / (1 - n_small / total)`` where ``E`` sums the large bins'
   targets; each instance weighs ``target / count``. When no bin reaches 100 the code's ``T`` is 1
   (``E`` is 0 there), so every bin's target is its share ``count / total`` and all targets sum to 1.
   When no instance sits in bins 1–5 at all, the toolkit fits the instances unweighted and adds no
   anchor; so do we.
4. **Anchor.** One failure at level 20 weighted by the sum of all bin targets (at least 1).
5. **Fit.** scikit-learn's ``LogisticRegression`` defaults: L2 penalty on the slope with ``C = 1``,
   intercept unpenalised. Where the toolkit's fit raises (one class only: every used outcome a
   failure, or, without an anchor, every outcome the same), it scores 0; so do we.
6. **Ability.** The area under the fitted curve from level 0 to 100, in level units (the toolkit
   integrates the same curve on a 10,001-point grid and divides by 100; we integrate in closed form
   and do not divide). A steep curve that crosses 50 % at level 3 has ability about 3.

Where we differ, and why:

* A scale with no instance left after the filters gets NaN (no evidence), not the toolkit's 0.
* ``round_levels=True`` (off by default) rounds fractional levels half-up into the bins first:
  medians of several annotators give half levels, which the published code weighs zero.
* Graded outcomes: ``successes``/``trials`` are fitted as that many Bernoulli trials (the fit the
  toolkit would make on the expanded rows), a score in [0, 1] as a fractional success of one trial.
* Bootstrap intervals (the toolkit has none): instances resampled, as multinomial draws over the
  (level, outcome) cells, with every replicate re-weighted and re-filtered exactly as above.

Speed: success depends on level only, so each fit reduces to a few weighted cells (distinct levels ×
success/failure). All (subject × scale × replicate) fits run as one batched Newton iteration. Levels
are quantised to 1/100 for the cell grid, so the grid never exceeds 501 levels however many distinct
fractional levels a battery holds (they only matter in the no-anchor case of choice 3).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .scales import SCALES

ANCHOR_LEVEL = 20.0
#: Upper end of the integral that defines an ability, in levels.
AREA_UPPER = 100.0
#: A level bin with at least this many instances is balanced to the largest such bin.
FULL_BIN = 100
PENALTY_C = 1.0
MIN_UG = 75.0
WEIGHTED_LEVELS = (1.0, 2.0, 3.0, 4.0, 5.0)
#: Resolution of the cell grid, in levels.
GRID_STEP = 0.01


@dataclass(frozen=True)
class Cells:
    """Aggregated data of many fits: ``levels`` (J,) shared; ``success``/``failure`` counts (K, J)."""

    levels: np.ndarray
    success: np.ndarray
    failure: np.ndarray


def default_level_scales(battery: pd.DataFrame) -> tuple[str, ...]:
    """The bundled level scales that are columns of ``battery``, in canonical order."""
    return tuple(s for s in SCALES if s in battery.columns)


def dominant_mask(demands: np.ndarray, level_diff: float = 0.0) -> np.ndarray:
    """(n, S) bool: instance counts for scale s when every other demand is ≤ its level on s + ``level_diff``.

    Missing (NaN) demands are skipped in the maximum over the others; an instance with NaN on s, or
    with no other demand present (when there are other scales), never counts.
    """
    n, n_scales = demands.shape
    if n_scales == 1:
        return ~np.isnan(demands)
    present = ~np.isnan(demands)
    filled = np.where(present, demands, -np.inf)
    order = np.sort(filled, axis=1)
    top, second = order[:, -1:], order[:, -2:-1]
    # The maximum over the *other* scales: the second-highest where this scale holds the top value.
    is_top = filled == top
    ties = is_top.sum(axis=1, keepdims=True) > 1
    other_max = np.where(is_top & ~ties, second, top)
    return present & np.isfinite(other_max) & (other_max <= demands + level_diff)


def level_bins(levels: np.ndarray) -> np.ndarray:
    """Integer level bin of each level; halves go up (2.5 → 3), unlike numpy's round-half-to-even."""
    return np.floor(np.asarray(levels, dtype=float) + 0.5)


def subject_seed(seed: int, subject: str) -> int:
    """A bootstrap seed per subject that does not depend on which other subjects are profiled with it."""
    return (seed * 1_000_003 + zlib.crc32(subject.encode("utf-8"))) % 2**32


def balancing_weights(counts: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The toolkit's weights for K fits over one level grid.

    ``counts`` (K, J) instances (trials) per cell, ``levels`` (J,). Returns the per-instance weight of
    each cell (K, J), the anchor mass (K,) and whether each fit is anchored (K,) bool (False when no
    instance sits in bins 1–5: those fits are unweighted and have no anchor).
    """
    in_bin = np.stack([levels == b for b in WEIGHTED_LEVELS])  # (5, J)
    per_bin = counts @ in_bin.T.astype(float)  # (K, 5)
    total = per_bin.sum(axis=1)  # (K,)
    large = per_bin >= FULL_BIN
    largest = np.where(large, per_bin, 0.0).max(axis=1)  # (K,)
    large_mass = large.sum(axis=1) * largest  # E
    small_count = np.where(large, 0.0, per_bin).sum(axis=1)
    mixed = (small_count > 0) & (total > small_count)
    share_total = np.where(mixed, large_mass / np.where(mixed, 1 - small_count / np.maximum(total, 1), 1.0),
                           np.where(large_mass > 0, large_mass, 1.0))  # T
    targets = np.where(large, largest[:, None], per_bin / np.maximum(total, 1)[:, None] * share_total[:, None])
    per_instance = np.where(per_bin > 0, targets / np.maximum(per_bin, 1), 0.0)  # (K, 5)
    weights = per_instance @ in_bin.astype(float)  # (K, J): zero off the bins
    anchored = total > 0
    weights = np.where(anchored[:, None], weights, 1.0)
    anchor_mass = np.where(anchored, np.maximum(targets.sum(axis=1), 1.0), 0.0)
    return weights, anchor_mass, anchored


def fit_curves(cells: Cells, *, c: float = PENALTY_C, iterations: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Fit all K weighted logistic curves at once; return (K, 2) of (intercept, slope).

    Minimises ``c * sum_i w_i * logloss_i + slope**2 / 2`` (scikit-learn's objective) by damped
    Newton steps, with the toolkit's balancing weights and level-20 anchor added here. Fits the
    toolkit could not make (one class only) come back as NaN rows; :func:`abilities_of` scores them 0.
    """
    counts = cells.success + cells.failure
    weights, anchor_mass, anchored = balancing_weights(counts, cells.levels)
    x = np.append(cells.levels, ANCHOR_LEVEL)  # (J+1,)
    pos = np.concatenate([cells.success * weights, np.zeros((counts.shape[0], 1))], axis=1) * c
    neg = np.concatenate([cells.failure * weights, anchor_mass[:, None]], axis=1) * c
    total = pos + neg
    params = np.zeros((counts.shape[0], 2))
    params[:, 0] = np.log((pos.sum(1) + 0.5) / (neg.sum(1) + 0.5))
    # sklearn refuses one class: with the anchor that is "no success", without it "no success or no failure".
    successes, failures = cells.success.sum(axis=1), cells.failure.sum(axis=1)
    one_class = (successes <= 0) | (~anchored & (failures <= 0))
    for _ in range(iterations):
        eta = params[:, :1] + params[:, 1:] * x
        p = _sigmoid(eta)
        resid = total * p - pos  # d loss / d eta per cell
        g0 = resid.sum(1)
        g1 = (resid * x).sum(1) + params[:, 1]
        h = total * p * (1 - p)
        h00, h01, h11 = h.sum(1), (h * x).sum(1), (h * x * x).sum(1) + 1.0
        det = h00 * h11 - h01 * h01
        # A fit whose weighted outcomes are all failures has no finite optimum: its Hessian vanishes, stop there.
        settled = one_class | (det < 1e-12)
        det = np.where(settled, 1.0, det)
        step = np.stack([(h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det], axis=1)
        step[settled] = 0.0
        scale = np.minimum(1.0, 5.0 / np.maximum(np.abs(step).max(axis=1, keepdims=True), 1e-300))
        params -= step * scale
        if np.all(np.abs(step) < tol):
            break
    params[one_class] = np.nan
    return params


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def area_under_curve(params: np.ndarray, upper: float = AREA_UPPER) -> np.ndarray:
    """Area under ``sigmoid(a + b x)`` for x in [0, upper], in closed form (softplus antiderivative)."""
    a, b = params[:, 0], params[:, 1]
    flat = np.abs(b) < 1e-9
    safe_b = np.where(flat, 1.0, b)
    area = (np.logaddexp(0, a + safe_b * upper) - np.logaddexp(0, a)) / safe_b
    return np.where(flat, upper * _sigmoid(a), area)


def abilities_of(params: np.ndarray) -> np.ndarray:
    """Ability per fit (K,): the area under each curve; fits the toolkit's sklearn call refuses score 0."""
    return np.where(np.isnan(params[:, 0]), 0.0, area_under_curve(np.nan_to_num(params)))


def binomial_counts(outcomes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Successes and trials per outcome row (n,), (n,).

    ``successes``/``trials`` columns when present (k of n attempts); otherwise ``correct`` read as a
    score in [0, 1] of one trial (0/1 for binary outcomes).
    """
    if {"successes", "trials"} <= set(outcomes.columns):
        return outcomes["successes"].to_numpy(float), outcomes["trials"].to_numpy(float)
    correct = outcomes["correct"].to_numpy(float)
    return correct, np.ones_like(correct)


def _grid_of(demands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantised levels (n, S) and their sorted distinct values (J,), J ≤ 501 on a 0–5 scale."""
    quantised = np.round(demands / GRID_STEP) * GRID_STEP
    finite = quantised[~np.isnan(quantised)]
    grid = np.unique(finite) if finite.size else np.arange(6, dtype=float)
    return quantised, grid


def _cells_for(levels: np.ndarray, successes: np.ndarray, trials: np.ndarray,
               grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Success and failure counts of one fit over the level ``grid``."""
    index = np.searchsorted(grid, levels)
    success = np.bincount(index, weights=successes, minlength=len(grid))
    total = np.bincount(index, weights=trials, minlength=len(grid))
    return success, total - success


def _fit_subject(demands: np.ndarray, successes: np.ndarray, trials: np.ndarray, mask: np.ndarray, *,
                 bootstrap: int, seed: int) -> dict[str, np.ndarray]:
    """Fit one subject's curves on every scale; arrays indexed by scale.

    ``demands`` (n, S) levels (NaN = missing), ``successes``/``trials`` (n,), ``mask`` (n, S) the
    instances each scale's curve uses. Returns intercept, slope, ability, ci_low, ci_high, n (instances
    used), plus ``grid`` (J,) and per-scale ``success``/``failure`` counts (S, J) for the empirical points.
    """
    quantised, grid = _grid_of(demands)
    success = np.zeros((demands.shape[1], len(grid)))
    failure = np.zeros_like(success)
    for s in range(demands.shape[1]):
        keep = mask[:, s]
        success[s], failure[s] = _cells_for(quantised[keep, s], successes[keep], trials[keep], grid)
    params = fit_curves(Cells(grid, success, failure))
    n = mask.sum(axis=0).astype(int)
    result = {
        "intercept": params[:, 0],
        "slope": params[:, 1],
        "ability": np.where(n > 0, abilities_of(params), np.nan),
        "n": n,
        "grid": grid,
        "success": success,
        "failure": failure,
    }
    result["ci_low"], result["ci_high"] = _bootstrap_interval(success, failure, grid, bootstrap, seed, n)
    return result


def _bootstrap_interval(
    success: np.ndarray, failure: np.ndarray, grid: np.ndarray, replicates: int, seed: int, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """95 % percentile intervals from resampling: multinomial draws over the cells (S, J), S fits at a time."""
    nan = np.full(len(n), np.nan)
    if replicates <= 0:
        return nan, nan.copy()
    rng = np.random.default_rng(seed)
    used = (success + failure).sum(axis=0) > 0  # only grid levels some scale uses
    cells = np.concatenate([success[:, used], failure[:, used]], axis=1)  # (S, 2J')
    total = cells.sum(axis=1)
    probs = cells / np.maximum(total, 1e-300)[:, None]
    draws = np.stack([rng.multinomial(int(round(t)), p, size=replicates) if t >= 1
                      else np.zeros((replicates, cells.shape[1])) for t, p in zip(total, probs)])  # (S, R, 2J')
    j = int(used.sum())
    flat = draws.reshape(-1, 2 * j).astype(float)
    abilities = abilities_of(fit_curves(Cells(grid[used], flat[:, :j], flat[:, j:]))).reshape(len(n), replicates)
    low, high = np.percentile(abilities, [2.5, 97.5], axis=1)
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def ability_table(battery: pd.DataFrame, outcomes: pd.DataFrame, subjects: list[str] | None = None,
                  **options) -> pd.DataFrame:
    """One row per subject × scale: ability, ci_low, ci_high, n, intercept, slope and the UG exclusions.

    ``options`` are those of :func:`profiles`.
    """
    return profiles(battery, outcomes, subjects, **options)[0]


def profiles(
    battery: pd.DataFrame,
    outcomes: pd.DataFrame,
    subjects: list[str] | None = None,
    *,
    scales: tuple[str, ...] | None = None,
    dominance_scales: tuple[str, ...] | None = None,
    ug_column: str | None = "UG",
    min_ug: float = MIN_UG,
    level_diff: float = 0.0,
    bootstrap: int = 0,
    seed: int = 0,
    dominant_only: bool = True,
    round_levels: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ability table and the per-level empirical success table (subject, scale, level, n, successes, rate).

    Parameters
    ----------
    battery : one row per instance with ``instance_id`` and a column per level scale (NaN = not annotated).
    outcomes : ``subject``, ``instance_id`` and ``correct`` (0/1 or a score in [0, 1]), or
        ``successes`` and ``trials``.
    scales : the level scales whose curves are fitted (default: every dominance scale).
    dominance_scales : every level scale of the active scale set, the ones the dominance filter
        compares (default: the bundled scales that are columns of ``battery``).
    ug_column, min_ug : the unguessability filter (``ug_column=None`` or an absent column: no filter).
    level_diff : slack of the dominance filter, in levels.
    dominant_only : False fits each scale on every instance annotated on it (no dominance filter).
    round_levels : round fractional levels half-up into the integer bins before weighting.
    """
    dominance_scales = tuple(dominance_scales) if dominance_scales is not None else default_level_scales(battery)
    scales = tuple(scales) if scales is not None else dominance_scales
    subjects = subjects if subjects is not None else sorted(outcomes["subject"].unique())
    index = pd.Index(battery["instance_id"])
    all_demands = battery.reindex(columns=list(dominance_scales)).to_numpy(dtype=float)  # absent = not annotated
    if round_levels:
        all_demands = level_bins(all_demands)
    usable = np.ones(len(battery), dtype=bool)
    ug_missing = np.zeros(len(battery), dtype=bool)
    if ug_column is not None and ug_column in battery.columns:
        ug = battery[ug_column].to_numpy(dtype=float)
        ug_missing = np.isnan(ug)
        usable = ~ug_missing & (ug >= min_ug)
    mask_all = dominant_mask(all_demands, level_diff) if dominant_only else ~np.isnan(all_demands)
    mask_all &= usable[:, None]
    columns = [dominance_scales.index(s) for s in scales]
    successes_all, trials_all = binomial_counts(outcomes)
    rows, points = [], []
    for subject in subjects:
        mine = (outcomes["subject"] == subject).to_numpy()
        position = index.get_indexer(outcomes.loc[mine, "instance_id"])
        found = position >= 0
        position = position[found]
        successes, trials = successes_all[mine][found], trials_all[mine][found]
        fit = _fit_subject(all_demands[position][:, columns], successes, trials, mask_all[position][:, columns],
                           bootstrap=bootstrap, seed=subject_seed(seed, subject))
        missing = int(ug_missing[position].sum())
        rows.append(pd.DataFrame({"subject": subject, "scale": list(scales), "ability": fit["ability"],
                                  "ci_low": fit["ci_low"], "ci_high": fit["ci_high"], "n": fit["n"],
                                  "intercept": fit["intercept"], "slope": fit["slope"],
                                  "excluded_low_ug": int((~usable[position]).sum()) - missing,
                                  "excluded_missing_ug": missing}))
        counts = fit["success"] + fit["failure"]
        s_idx, j_idx = np.nonzero(counts)
        points.append(pd.DataFrame({"subject": subject, "scale": np.asarray(scales)[s_idx],
                                    "level": fit["grid"][j_idx], "n": counts[s_idx, j_idx],
                                    "successes": fit["success"][s_idx, j_idx]}))
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    empirical = pd.concat(points, ignore_index=True) if points else pd.DataFrame()
    if len(empirical):
        empirical["rate"] = empirical["successes"] / empirical["n"]
        for column in ("n", "successes"):  # whole counts for binary and k-of-n outcomes
            if np.allclose(empirical[column], np.round(empirical[column])):
                empirical[column] = np.round(empirical[column]).astype(int)
    return table, empirical
