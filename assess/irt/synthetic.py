"""Synthetic batteries with known abilities, drawn from the conjunctive demand-IRT model.

Shared by the tests (``tests/test_irt_*.py``), the study (``studies/abilities``) and the speed
benchmark, so all three measure recovery on the same generator.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import model as irt


@dataclass(frozen=True)
class Synthetic:
    """A battery, outcomes drawn from known parameters, and those parameters."""

    battery: pd.DataFrame  # instance_id, benchmark, task, prompt, <scales>, UG
    outcomes: pd.DataFrame  # subject, instance_id, correct
    theta: pd.DataFrame  # subjects x scales, true abilities in level units
    params: irt.Params
    scales: tuple[str, ...]


def demands(n_items: int, n_scales: int, rng: np.random.Generator, per_item: tuple[int, int] = (2, 4),
            levels: tuple[int, int] = (1, 5)) -> np.ndarray:
    """(I, K) integer demands: each item demands ``per_item`` scales at uniform levels, 0 elsewhere."""
    out = np.zeros((n_items, n_scales))
    count = rng.integers(per_item[0], per_item[1] + 1, n_items)
    order = np.argsort(rng.random((n_items, n_scales)), axis=1)
    chosen = np.arange(n_scales)[None, :] < count[:, None]
    rows, ranks = np.nonzero(chosen)
    out[rows, order[rows, ranks]] = rng.integers(levels[0], levels[1] + 1, len(rows))
    return out


def conjunctive_battery(scales: Sequence[str], n_subjects: int = 12, n_items: int = 3000, *, seed: int = 0,
                        per_item: tuple[int, int] = (2, 4), theta_range: tuple[float, float] = (1.0, 4.0),
                        discrimination_range: tuple[float, float] = (1.5, 3.0), base: float = 4.0,
                        ug_choices: Sequence[float] = (75.0, 90.0, 100.0), residual_sd: float = 0.0,
                        density: float = 1.0) -> Synthetic:
    """A battery answered by ``n_subjects`` subjects with abilities uniform in ``theta_range``.

    Every item demands 2-4 scales (levels 1-5); UG is drawn from ``ug_choices``; each subject
    answers a ``density`` share of the items (all by default); success follows the conjunctive
    model with base ability ``base`` for every subject and item residuals ``N(0, residual_sd^2)``.
    """
    rng = np.random.default_rng(seed)
    k = len(scales)
    demand = demands(n_items, k, rng, per_item)
    ug = rng.choice(np.asarray(ug_choices, float), n_items)
    items = irt.Items(demand, irt.guess_floor(ug))
    theta = rng.uniform(*theta_range, (n_subjects, k))
    params = irt.Params(theta=theta, base=np.full(n_subjects, base),
                        residual=rng.normal(0, residual_sd, n_items) if residual_sd > 0 else np.zeros(n_items),
                        discrimination=rng.uniform(*discrimination_range, k), theta_mean=theta.mean(0),
                        base_mean=base)
    if density >= 1:
        subject = np.repeat(np.arange(n_subjects), n_items)
        item = np.tile(np.arange(n_items), n_subjects)
    else:
        keep = rng.random((n_subjects, n_items)) < density
        subject, item = np.nonzero(keep)
    p = irt.probability(subject, item, items, params)
    correct = (rng.random(len(p)) < p).astype(int)
    ids = np.array([f"syn/{i}" for i in range(n_items)], dtype=object)
    names = np.array([f"s{j:03d}" for j in range(n_subjects)], dtype=object)
    battery = pd.DataFrame({"instance_id": ids, "benchmark": "synthetic", "task": [f"t{i % 5}" for i in range(n_items)],
                            "prompt": [f"synthetic item {i}" for i in range(n_items)]})
    for s, scale in enumerate(scales):
        battery[scale] = demand[:, s]
    battery["UG"] = ug
    outcomes = pd.DataFrame({"subject": names[subject], "instance_id": ids[item], "correct": correct})
    return Synthetic(battery, outcomes, pd.DataFrame(theta, index=names, columns=list(scales)), params, tuple(scales))
