"""Adaptive item selection (computerized adaptive testing) for the demand-IRT model.

Given a subject's current estimate ``(theta_j, u_j)`` and its posterior precision ``H`` (Fisher
information of the outcomes so far plus the prior precision), an unseen item i adds information
``w_i g_i g_i^T`` with ``g_i = dP_i/d(theta_j, u_j)`` and ``w_i = 1 / (P_i (1 - P_i))``. The
D-optimal next item maximises ``log det(H + w_i g_i g_i^T) - log det H = log(1 + w_i g_i^T H^-1 g_i)``.
A batch of k items is chosen greedily at the same estimate, each pick updating ``H^-1`` by
Sherman-Morrison, so the batch spreads over scales instead of repeating the single most
informative kind of item. Between batches the caller observes the outcomes and refits the subject.
"""
from __future__ import annotations

import numpy as np

from .model import Items, item_jacobian


def select_items(candidates: Items, theta: np.ndarray, base: float, residual: np.ndarray,
                 discrimination: np.ndarray, precision: np.ndarray, k: int,
                 form: str = "conjunctive", slope: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``k`` candidates to run next (greedy D-optimal) and each pick's log-det gain.

    ``precision`` (K+1, K+1) is the subject's current posterior precision of ``(theta, u)``;
    ``slope`` (I,) the candidates' slopes on the base factor (None: 1).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    p, jac = item_jacobian(candidates, theta, base, residual, discrimination, form, slope)
    weight = 1.0 / np.clip(p * (1 - p), 1e-12, None)
    covariance = np.linalg.inv(precision)
    quadratic = np.einsum("ij,jk,ik->i", jac, covariance, jac) * weight
    available = np.ones(len(p), bool)
    chosen, gains = [], []
    for _ in range(min(k, len(p))):
        score = np.where(available, quadratic, -np.inf)
        best = int(np.argmax(score))
        chosen.append(best)
        gains.append(float(np.log1p(max(score[best], 0.0))))
        available[best] = False
        direction = covariance @ jac[best]
        denominator = 1.0 / weight[best] + jac[best] @ direction
        projected = jac @ direction
        quadratic = quadratic - weight * projected ** 2 / denominator
        covariance = covariance - np.outer(direction, direction) / denominator
    return np.array(chosen, dtype=np.int64), np.array(gains)
