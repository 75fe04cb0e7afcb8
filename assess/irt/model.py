"""Demand-IRT: one joint item-response model over subjects, demand scales and items (no I/O).

Data are long-form binomial observations ``(subject j, item i, successes, trials)``; a binary
outcome is one trial, a graded score in [0, 1] is a fractional success of one trial. Each item
carries demand levels ``d_ik`` on K scales (any list of level scales, given by the caller) and a
guessing floor ``c_i``. Every subject has an ability ``theta_jk`` per scale, in level units, and a
base ability ``u_j`` in logits; every scale has a discrimination ``a_k > 0`` shared by all
subjects; every item may have a residual difficulty ``b_i`` in logits, shrunk to 0.

Success probability, with ``K_i = {k : d_ik > 0}`` the scales item i demands::

    conjunctive   P = c + (1 - c) * sigmoid(u_j - b_i) * prod_{k in K_i} sigmoid(a_k (theta_jk - d_ik))
    compensatory  P = c + (1 - c) * sigmoid(u_j - b_i + sum_{k in K_i} w_ik a_k (theta_jk - d_ik)),
                  w_ik = d_ik / sum_{l in K_i} d_il   (a demand-weighted mean margin)

Choices (each one deliberate):

* **Level units.** ``theta_jk`` is the level at which the scale-k factor is 1/2: a subject with
  ``theta = 3`` meets a level-3 demand half the time, so a profile reads beside the SCC one. The
  demands are fixed by the annotations, which pins location and scale; no further constraint.
* **Base factor.** ``sigmoid(u_j - b_i)`` is a general (Rasch) factor: it is what an item with no
  demand above 0 is left with (otherwise such an item would be solved with certainty), it is a
  subject's ceiling on easy items, and it carries the item residual ``b_i``, so a high-ability
  subject on a fully met item reduces to a 1-parameter IRT model with a fixed guessing floor.
* **Residual difficulty** ``b_i ~ N(0, residual_sd^2)``: learned from every subject that answered
  the item; an item no subject answered keeps ``b_i = 0`` and falls back on its demands. By
  default (``residual="empirical_bayes"``) ``b_i`` is a random effect integrated out of the
  likelihood and ``residual_sd`` is itself estimated by that marginal likelihood (a random-effect
  variance, under a weak log-normal hyper-prior), not fixed: on MMLU-Pro the data want far more
  spread than a unit prior allows. ``marginal`` integrates with ``residual_sd`` fixed. The
  integral is 7-point *adaptive* Gauss-Hermite quadrature on the standardised residual
  ``b_i / residual_sd``: the nodes sit on each item's posterior (its mode and Laplace width, by a
  vectorised Newton iteration between L-BFGS runs), since fixed nodes at the prior's scale leave
  an item answered by many subjects, with a narrow posterior, one or two nodes to live on. The
  residual is reported as its posterior mean and sd, and predictions for a known item integrate
  over that posterior (a new item: over ``N(0, residual_sd^2)``), as the likelihood does. The
  alternative ``joint`` (each ``b_i`` a MAP parameter, fixed prior) is kept for comparison and for
  the Rasch/2PL baselines: with few subjects per item it overfits each item's outcomes (the
  incidental-parameter problem) and pulls the base ability down and the abilities up — on a
  10-subject synthetic battery it biased theta by +0.23 levels where the marginal fit had +0.03.
* **Item slopes** (optional, ``item_slopes=True``): ``sigmoid(s_i (u_j - b_i))`` with a slope per
  item, ``log s_i ~ N(0, item_slope_sd^2)``: the base factor becomes a 2PL; with no scales it is
  the population 2PL baseline of the study.
* **Priors (MAP = penalised maximum likelihood).** ``theta_jk ~ N(m_k, theta_sd^2)`` with the
  population mean ``m_k`` estimated jointly (weak ``N(mean_centre, mean_sd^2)`` hyper-prior, so a
  scale no item demands stays put); ``u_j ~ N(m_u, base_sd^2)`` with ``m_u`` estimated;
  ``log a_k ~ N(log discrimination_centre, discrimination_sd^2)``. A new subject is then shrunk
  to the population, not to an arbitrary 0.
* **Estimator.** The joint fit minimises the penalised negative (marginal) log-likelihood (divided
  by the number of trials) with torch L-BFGS (strong-Wolfe line search), float64 by default, over only
  the demanded (observation, scale) pairs, so cost grows with the non-zero demands, not with K.
  A subject-only fit (items, discriminations and population frozen) is a batched Fisher-scoring
  Newton iteration per subject block ``(theta_j, u_j)`` with step halving.
* **Intervals.** Laplace: the expected (Fisher) information of a subject's block plus the prior
  precision, inverted per subject, items and discriminations held at their estimates (so the
  interval ignores item-parameter uncertainty, which is small when many subjects share the items).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

FORMS: tuple[str, ...] = ("conjunctive", "compensatory")
RESIDUALS: tuple[str, ...] = ("none", "joint", "marginal", "empirical_bayes")
#: Residual modes that integrate the residual out (random effect) rather than fitting it.
RANDOM_RESIDUALS: tuple[str, ...] = ("marginal", "empirical_bayes")
#: Most rounds of adaptive quadrature (nodes re-centred on each item's posterior between L-BFGS runs).
MAX_QUADRATURE_ROUNDS = 6
#: Largest guessing floor used: an item with UG = 0 would otherwise make every failure impossible.
MAX_GUESS = 0.999
#: Up to this many distinct demand levels, the likelihood works on a (subject, scale, level) table.
MAX_TABLE_LEVELS = 64

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Observations:
    """Long-form outcomes, all (N,): subject and item indices, successes (may be fractional) and trials."""

    subject: np.ndarray
    item: np.ndarray
    successes: np.ndarray
    trials: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.subject)
        for name in ("item", "successes", "trials"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Observations.{name} has {len(getattr(self, name))} entries, subject has {n}")
        trials = np.asarray(self.trials, float)
        successes = np.asarray(self.successes, float)
        if n and (trials.min() <= 0 or successes.min() < 0 or (successes > trials).any()):
            raise ValueError("need trials > 0 and 0 <= successes <= trials")


@dataclass(frozen=True)
class Items:
    """Item side: ``demands`` (I, K) levels >= 0 (no NaN) and ``guess`` (I,) floors in [0, 1)."""

    demands: np.ndarray
    guess: np.ndarray

    def __post_init__(self) -> None:
        demands = np.asarray(self.demands, float)
        if demands.ndim != 2 or len(self.guess) != len(demands):
            raise ValueError(f"demands must be (I, K) and guess (I,), got {demands.shape} and {np.shape(self.guess)}")
        if np.isnan(demands).any() or (demands < 0).any():
            raise ValueError("demands must be non-negative numbers (no NaN)")
        guess = np.asarray(self.guess, float)
        if np.isnan(guess).any() or (guess < 0).any() or (guess >= 1).any():
            raise ValueError("guess floors must lie in [0, 1)")


@dataclass(frozen=True)
class Priors:
    """Prior standard deviations and centres (see the module docstring)."""

    theta_sd: float = 1.5
    base_sd: float = 2.0
    residual_sd: float = 1.0
    residual_sd_spread: float = 1.0
    item_slope_sd: float = 0.5
    discrimination_sd: float = 0.5
    discrimination_centre: float = 1.5
    mean_centre: float = 2.5
    mean_sd: float = 3.0

    def __post_init__(self) -> None:
        for name in ("theta_sd", "base_sd", "residual_sd", "residual_sd_spread", "item_slope_sd", "discrimination_sd",
                     "discrimination_centre", "mean_sd"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"prior {name} must be a positive number, got {value!r}")


@dataclass
class Params:
    """Fitted parameters: theta (J, K), base (J,), residual (I,), discrimination (K,), theta_mean (K,), base_mean.

    ``item_slope`` (I,) multiplies each item's base logit (None: all 1, the Rasch-type base factor);
    ``residual_sd`` is the residuals' standard deviation used (estimated with ``empirical_bayes``)
    and ``residual_spread`` (I,) each residual's posterior sd (None: the residuals are point values).
    """

    theta: np.ndarray
    base: np.ndarray
    residual: np.ndarray
    discrimination: np.ndarray
    theta_mean: np.ndarray
    base_mean: float
    item_slope: np.ndarray | None = None
    residual_sd: float = float("nan")
    residual_spread: np.ndarray | None = None
    converged: bool = True
    iterations: int = 0
    extra: dict = field(default_factory=dict)

    def slopes(self) -> np.ndarray:
        """(I,) item slopes on the base factor, 1 where none were fitted."""
        return np.ones(len(self.residual)) if self.item_slope is None else np.asarray(self.item_slope, float)


@contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Run torch with ``n`` intra-op threads (None: leave as is), restoring the previous count after.

    The likelihood is gathers and scatters over long index arrays; on a shared 2-core machine one
    thread was 2-10x faster than two that contend, hence the default of 1 in :func:`fit`.
    """
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def guess_floor(ug: np.ndarray, missing: float = 0.0) -> np.ndarray:
    """``c = 1 - UG / 100`` clipped to [0, MAX_GUESS]; a missing UG gets ``missing`` (default: no floor)."""
    ug = np.asarray(ug, float)
    floor = np.where(np.isnan(ug), missing, 1.0 - ug / 100.0)
    return np.clip(floor, 0.0, MAX_GUESS)


@dataclass(frozen=True)
class _Design:
    """Observation tensors plus the demanded (observation, scale) pairs the likelihood runs over."""

    n_subjects: int
    n_scales: int
    subject: torch.Tensor  # (N,)
    item: torch.Tensor  # (N,)
    successes: torch.Tensor
    failures: torch.Tensor
    trials: torch.Tensor
    guess: torch.Tensor  # (N,) c
    log_free: torch.Tensor  # (N,) log (1 - c)
    pair_obs: torch.Tensor  # (M,)
    pair_scale: torch.Tensor  # (M,)
    pair_theta: torch.Tensor  # (M,) flat index into theta (J*K)
    pair_demand: torch.Tensor  # (M,)
    pair_weight: torch.Tensor  # (M,) compensatory weights w_ik
    levels: torch.Tensor | None  # (V,) distinct positive demand levels, when few enough for the table path
    pair_cell: torch.Tensor | None  # (M,) flat index into a (J, K, V) table of pair logits


def _design(obs: Observations, items: Items, n_subjects: int, dtype: torch.dtype) -> _Design:
    demands = np.asarray(items.demands, float)
    n_items, n_scales = demands.shape
    subject = np.asarray(obs.subject, np.int64)
    item = np.asarray(obs.item, np.int64)
    if len(item) and (item.min() < 0 or item.max() >= n_items or subject.min() < 0 or subject.max() >= n_subjects):
        raise ValueError("observation indices out of range")
    mask = demands > 0
    counts = mask.sum(axis=1)
    item_ptr = np.concatenate([[0], np.cumsum(counts)])
    nz_item, nz_scale = np.nonzero(mask)
    nz_level = demands[nz_item, nz_scale]
    totals = demands.sum(axis=1)
    nz_weight = nz_level / np.where(totals > 0, totals, 1.0)[nz_item]
    per_obs = counts[item]
    n_pairs = int(per_obs.sum())
    pair_obs = np.repeat(np.arange(len(item)), per_obs)
    first = np.cumsum(per_obs) - per_obs
    position = np.repeat(item_ptr[item], per_obs) + (np.arange(n_pairs) - np.repeat(first, per_obs))
    guess = np.asarray(items.guess, float)[item]
    distinct = np.unique(nz_level)
    levels = cell = None
    if len(distinct) <= MAX_TABLE_LEVELS:  # few distinct levels: transcendental work on a (J, K, V) table only
        level_index = np.searchsorted(distinct, nz_level[position])
        cell = torch.as_tensor((subject[pair_obs] * n_scales + nz_scale[position]) * len(distinct) + level_index)
        levels = torch.as_tensor(distinct, dtype=dtype)
    t = lambda a, kind=dtype: torch.tensor(np.asarray(a), dtype=kind)  # noqa: E731
    successes = np.asarray(obs.successes, float)
    trials = np.asarray(obs.trials, float)
    return _Design(
        n_subjects=n_subjects, n_scales=n_scales, subject=t(subject, torch.long), item=t(item, torch.long),
        successes=t(successes), failures=t(trials - successes), trials=t(trials), guess=t(guess),
        log_free=t(np.log1p(-guess)), pair_obs=t(pair_obs, torch.long), pair_scale=t(nz_scale[position], torch.long),
        pair_theta=t(subject[pair_obs] * n_scales + nz_scale[position], torch.long),
        pair_demand=t(nz_level[position]), pair_weight=t(nz_weight[position]), levels=levels,
        pair_cell=cell)


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x < 0 (absolute error ~1e-16 where x is very negative, which is all the likelihood needs)."""
    return torch.log(-torch.expm1(x.clamp(max=-1e-30)))


def _demand_part(design: _Design, theta: torch.Tensor, discrimination: torch.Tensor,
                 form: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per observation, the demands' contribution (N,), and per demanded pair its logit ``a_k (theta_jk - d_ik)``.

    Conjunctive: the sum of the pairs' log-sigmoids; compensatory: the weighted sum of their logits.
    With few distinct levels the pair logits (and log-sigmoids) are computed once per (subject,
    scale, level) cell and gathered, several times faster than per pair.
    """
    table = None
    if design.levels is not None:
        table = discrimination[None, :, None] * (theta[:, :, None] - design.levels[None, None, :])
        pair_logit = table.reshape(-1)[design.pair_cell]
    else:
        pair_logit = discrimination[design.pair_scale] * (theta.reshape(-1)[design.pair_theta] - design.pair_demand)
    zeros = torch.zeros(len(design.subject), dtype=theta.dtype)
    if form == "conjunctive":
        log_pair = F.logsigmoid(table).reshape(-1)[design.pair_cell] if table is not None else F.logsigmoid(pair_logit)
        return zeros.index_add(0, design.pair_obs, log_pair), pair_logit
    return zeros.index_add(0, design.pair_obs, design.pair_weight * pair_logit), pair_logit


def _factor_logs(base_logit: torch.Tensor, part: torch.Tensor, form: str) -> tuple[torch.Tensor, torch.Tensor]:
    """log F and log (1 - F) from the base logit and the demand part (any broadcastable shapes)."""
    if form == "conjunctive":
        log_f = F.logsigmoid(base_logit) + part
        return log_f, _log1mexp(log_f)
    eta = base_logit + part
    return F.logsigmoid(eta), F.logsigmoid(-eta)


def _log_factors(design: _Design, theta: torch.Tensor, base: torch.Tensor, residual: torch.Tensor,
                 discrimination: torch.Tensor, form: str, slope: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per observation: log F, log (1 - F), and the demanded pairs' logits; ``slope`` (I,) item slopes."""
    part, pair_logit = _demand_part(design, theta, discrimination, form)
    base_logit = slope[design.item] * (base[design.subject] - residual[design.item])
    log_f, log_1mf = _factor_logs(base_logit, part, form)
    return log_f, log_1mf, pair_logit


def _log_likelihood_terms(design: _Design, log_f: torch.Tensor, log_1mf: torch.Tensor) -> torch.Tensor:
    """(N,) or (N, Q) binomial log-likelihood of each observation (without the binomial coefficient)."""
    column = (lambda v: v[:, None]) if log_f.dim() == 2 else (lambda v: v)  # noqa: E731
    log_p = torch.log((column(design.guess) + torch.exp(column(design.log_free) + log_f)).clamp(min=1e-300))
    log_1mp = column(design.log_free) + log_1mf
    return column(design.successes) * log_p + column(design.failures) * log_1mp


def residual_nodes(sd: float, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes (Q,) of ``N(0, sd^2)`` and their log weights (summing to 1)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    return nodes * sd, np.log(weights / weights.sum())


def _item_node_loglik(design: _Design, n_items: int, theta: torch.Tensor, base: torch.Tensor,
                      discrimination: torch.Tensor, form: str, nodes: torch.Tensor, slope: torch.Tensor
                      ) -> torch.Tensor:
    """(I, Q) log-likelihood of each item's outcomes with its residual at each of its nodes ``nodes`` (I, Q)."""
    part, _ = _demand_part(design, theta, discrimination, form)
    base_logit = slope[design.item][:, None] * (base[design.subject][:, None] - nodes[design.item])
    log_f, log_1mf = _factor_logs(base_logit, part[:, None], form)
    terms = _log_likelihood_terms(design, log_f, log_1mf)
    return torch.zeros(n_items, nodes.shape[1], dtype=theta.dtype).index_add(0, design.item, terms)


def _residual_modes(design: _Design, n_items: int, theta: torch.Tensor, base: torch.Tensor,
                    discrimination: torch.Tensor, form: str, slope: torch.Tensor, sd: torch.Tensor,
                    start: torch.Tensor, max_iter: int = 50, tol: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Each item's posterior mode (I,) of its standardised residual ``eta_i = b_i / sd`` and the Laplace sd there.

    Abilities fixed; a vectorised one-dimensional Newton iteration (steps capped at 1) on
    ``log L_i(sd eta) - eta^2 / 2``. The Laplace sd is capped at 1, the prior's: where the
    likelihood is flat or not log-concave the prior's width is the safe choice of node spread.
    """
    eta = start.detach().clone()
    curvature = torch.ones_like(eta)
    for _ in range(max_iter):
        e = eta.clone().requires_grad_(True)
        log_f, log_1mf, _ = _log_factors(design, theta, base, sd * e, discrimination, form, slope)
        per_item = torch.zeros(n_items, dtype=e.dtype).index_add(0, design.item,
                                                                  _log_likelihood_terms(design, log_f, log_1mf))
        (grad,) = torch.autograd.grad((per_item - 0.5 * e ** 2).sum(), e, create_graph=True)
        (hess,) = torch.autograd.grad(grad.sum(), e)
        curvature = (-hess).clamp(min=1.0)
        step = (grad.detach() / curvature).clamp(-1.0, 1.0)
        eta = eta + step
        if float(step.abs().max()) < tol:
            break
    return eta.detach(), curvature.rsqrt().detach()


def _node_log_weights(eta: torch.Tensor, spread: torch.Tensor, z: torch.Tensor,
                      z_log_weights: torch.Tensor) -> torch.Tensor:
    """(I, Q) log weights of adaptive Gauss-Hermite nodes ``eta = centre + spread * z`` of a standard normal.

    The residual is standardised, ``b = sd * eta`` with ``eta ~ N(0, 1)``, and
    ``int L(sd eta) phi(eta) d eta = sum_q w_q L(sd eta_q) phi(eta_q) / N(eta_q; centre, spread^2)``:
    exact for any centre and spread as Q grows, accurate with few nodes when they sit on the
    posterior, and bounded in ``sd`` (nodes fixed in ``b`` would blow up as ``sd`` shrinks below them).
    """
    return z_log_weights[None] - 0.5 * eta ** 2 + 0.5 * z[None] ** 2 + torch.log(spread)[:, None]


def log_likelihood(obs: Observations, items: Items, params: Params, form: str = "conjunctive") -> np.ndarray:
    """(N,) log-likelihood of each observation under ``params``."""
    design = _design(obs, items, len(params.theta), torch.float64)
    tensors = _tensors(params, torch.float64)
    log_f, log_1mf, _ = _log_factors(design, tensors["theta"], tensors["base"], tensors["residual"],
                                     tensors["discrimination"], _check_form(form), tensors["slope"])
    return _log_likelihood_terms(design, log_f, log_1mf).numpy()


def probability(obs_subject: np.ndarray, obs_item: np.ndarray, items: Items, params: Params,
                form: str = "conjunctive", theta: np.ndarray | None = None, base: np.ndarray | None = None,
                n_nodes: int = 7) -> np.ndarray:
    """(N,) success probabilities of subject ``obs_subject[n]`` on item ``obs_item[n]``.

    ``theta``/``base`` override the parameters' subjects (e.g. profiles given from outside). Where
    ``params.residual_spread`` gives an item's residual a posterior sd, the probability is the
    posterior predictive one, ``E[P | b_i ~ N(residual_i, spread_i^2)]`` by ``n_nodes``-point
    Gauss-Hermite quadrature, as the marginal fit's likelihood is; otherwise the residual is a point value.
    """
    theta = params.theta if theta is None else theta
    base = params.base if base is None else base
    n = len(obs_subject)
    obs = Observations(obs_subject, obs_item, np.zeros(n), np.ones(n))
    design = _design(obs, items, len(theta), torch.float64)
    as_tensor = lambda a: torch.as_tensor(np.asarray(a, float), dtype=torch.float64)  # noqa: E731
    residual = np.asarray(params.residual, float)
    spread = np.zeros_like(residual) if params.residual_spread is None else np.asarray(params.residual_spread, float)
    z, log_w = residual_nodes(1.0, n_nodes) if (spread > 0).any() else (np.zeros(1), np.zeros(1))
    p = torch.zeros(n, dtype=torch.float64)
    for node, weight in zip(z, np.exp(log_w)):
        log_f, _, _ = _log_factors(design, as_tensor(theta), as_tensor(base), as_tensor(residual + spread * node),
                                   as_tensor(params.discrimination), _check_form(form), as_tensor(params.slopes()))
        p += weight * (design.guess + torch.exp(design.log_free + log_f))
    return p.clamp(0.0, 1.0).numpy()


def _check_form(form: str) -> str:
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; choose one of {', '.join(FORMS)}")
    return form


def _tensors(params: Params, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    out = {name: torch.as_tensor(np.asarray(getattr(params, name), float), dtype=dtype)
           for name in ("theta", "base", "residual", "discrimination", "theta_mean")}
    out["slope"] = torch.as_tensor(params.slopes(), dtype=dtype)
    return out


def initial_params(obs: Observations, items: Items, n_subjects: int, priors: Priors) -> Params:
    """Starting point: every theta at the mean positive demand of its scale, base 2 logits, no residuals."""
    demands = np.asarray(items.demands, float)
    count = (demands > 0).sum(axis=0)
    centre = np.where(count > 0, demands.sum(axis=0) / np.maximum(count, 1), priors.mean_centre)
    k = demands.shape[1]
    return Params(theta=np.tile(centre, (n_subjects, 1)), base=np.full(n_subjects, 2.0),
                  residual=np.zeros(len(demands)), discrimination=np.full(k, priors.discrimination_centre),
                  theta_mean=centre.copy(), base_mean=2.0)


def fit(obs: Observations, items: Items, n_subjects: int, *, form: str = "conjunctive",
        residual: str = "marginal", item_slopes: bool = False, priors: Priors = Priors(), init: Params | None = None,
        max_iter: int = 500, tol: float = 1e-7, n_nodes: int = 7, dtype: torch.dtype = torch.float64,
        n_threads: int | None = 1, progress: Progress | None = None) -> Params:
    """Penalised maximum-likelihood fit of every subject's abilities and the scales' discriminations.

    ``residual``: ``none`` (b = 0), ``joint`` (each b_i a MAP parameter beside the abilities),
    ``marginal`` (b_i ~ N(0, residual_sd^2) integrated out by ``n_nodes``-point adaptive
    Gauss-Hermite quadrature, then reported as its posterior mean and sd) or ``empirical_bayes``
    (the same, with ``residual_sd`` itself estimated by the marginal likelihood: a random-effect
    variance, under a weak log-normal hyper-prior ``log sd ~ N(log priors.residual_sd,
    priors.residual_sd_spread^2)``). ``item_slopes`` fits a slope ``s_i`` per item on the base
    logit, ``s_i (u_j - b_i)`` (2PL-style; ``log s_i ~ N(0, priors.item_slope_sd^2)``). ``tol``
    bounds the largest gradient entry of the objective per trial (L-BFGS ``tolerance_grad``).
    """
    if residual not in RESIDUALS:
        raise ValueError(f"unknown residual mode {residual!r}; choose one of {', '.join(RESIDUALS)}")
    with threads(n_threads):
        return _fit(obs, items, n_subjects, _check_form(form), residual, bool(item_slopes), priors, init, max_iter,
                    tol, n_nodes, dtype, progress)


def _fit(obs: Observations, items: Items, n_subjects: int, form: str, residual: str, item_slopes: bool,
         priors: Priors, init: Params | None, max_iter: int, tol: float, n_nodes: int, dtype: torch.dtype,
         progress: Progress | None) -> Params:
    """The joint fit; random residuals alternate L-BFGS runs with re-centring each item's quadrature nodes.

    Adaptive quadrature (Pinheiro-Bates) on the standardised residual ``eta_i = b_i / residual_sd``:
    the first run uses plain Gauss-Hermite nodes of N(0, 1); after each run every item's nodes move
    to ``mean_i + sd_i * z`` of its current posterior of ``eta_i`` (the node weights correct for the
    move), until the nodes settle (at most
    ``MAX_QUADRATURE_ROUNDS`` runs). Plain nodes at the prior's scale would leave an item answered by
    many subjects, whose posterior is narrow, with one or two nodes in its likelihood.
    """
    design = _design(obs, items, n_subjects, dtype)
    start = init if init is not None else initial_params(obs, items, n_subjects, priors)
    tensor = lambda a: torch.tensor(np.asarray(a, float), dtype=dtype, requires_grad=True)  # noqa: E731
    variables = {"theta": tensor(start.theta), "base": tensor(start.base),
                 "log_a": tensor(np.log(np.asarray(start.discrimination, float))),
                 "theta_mean": tensor(start.theta_mean), "base_mean": tensor([float(start.base_mean)])}
    if residual == "joint":
        variables["residual"] = tensor(start.residual)
    if item_slopes:
        variables["log_slope"] = tensor(np.log(start.slopes()))
    start_sd = start.residual_sd if math.isfinite(start.residual_sd) else priors.residual_sd
    if residual == "empirical_bayes":
        variables["log_residual_sd"] = tensor([math.log(start_sd)])
    n_items = len(items.demands)
    random = residual in RANDOM_RESIDUALS
    z_values, z_log_values = residual_nodes(1.0, n_nodes)
    z, z_log_weights = torch.as_tensor(z_values, dtype=dtype), torch.as_tensor(z_log_values, dtype=dtype)
    if random and start.residual_spread is not None:  # warm start: nodes where the last fit left them
        centre = torch.as_tensor(np.asarray(start.residual, float) / start_sd, dtype=dtype)
        spread = torch.as_tensor(np.asarray(start.residual_spread, float) / start_sd, dtype=dtype)
    else:  # standardised residual: plain Gauss-Hermite nodes of N(0, 1)
        centre, spread = torch.zeros(n_items, dtype=dtype), torch.ones(n_items, dtype=dtype)
    fixed_residual, unit_slope = torch.zeros(n_items, dtype=dtype), torch.ones(n_items, dtype=dtype)
    scale = 1.0 / max(float(design.trials.sum()), 1.0)
    log_a_centre, log_sd_centre = math.log(priors.discrimination_centre), math.log(priors.residual_sd)
    evaluations = [0]

    def residual_sd(v: dict[str, torch.Tensor]) -> torch.Tensor:
        if residual == "empirical_bayes":
            return torch.exp(v["log_residual_sd"][0])
        return torch.tensor(priors.residual_sd, dtype=dtype)

    def slope(v: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.exp(v["log_slope"]) if item_slopes else unit_slope

    def node_terms(v: dict[str, torch.Tensor], eta: torch.Tensor) -> torch.Tensor:
        """(I, Q) log-likelihood plus log quadrature weight of each item at each of its standardised nodes."""
        ll = _item_node_loglik(design, n_items, v["theta"], v["base"], torch.exp(v["log_a"]), form,
                               residual_sd(v) * eta, slope(v))
        return ll + _node_log_weights(eta, spread, z, z_log_weights)

    def loss_at(v: dict[str, torch.Tensor], eta: torch.Tensor) -> torch.Tensor:
        if random:
            nll = -torch.logsumexp(node_terms(v, eta), dim=1).sum()
        else:
            b = v["residual"] if residual == "joint" else fixed_residual
            log_f, log_1mf, _ = _log_factors(design, v["theta"], v["base"], b, torch.exp(v["log_a"]), form, slope(v))
            nll = -_log_likelihood_terms(design, log_f, log_1mf).sum()
        penalty = (((v["theta"] - v["theta_mean"]) ** 2).sum() / (2 * priors.theta_sd ** 2)
                   + ((v["base"] - v["base_mean"]) ** 2).sum() / (2 * priors.base_sd ** 2)
                   + ((v["log_a"] - log_a_centre) ** 2).sum() / (2 * priors.discrimination_sd ** 2)
                   + ((v["theta_mean"] - priors.mean_centre) ** 2).sum() / (2 * priors.mean_sd ** 2))
        if residual == "joint":
            penalty = penalty + (v["residual"] ** 2).sum() / (2 * priors.residual_sd ** 2)
        if item_slopes:
            penalty = penalty + (v["log_slope"] ** 2).sum() / (2 * priors.item_slope_sd ** 2)
        if residual == "empirical_bayes":
            penalty = penalty + ((v["log_residual_sd"] - log_sd_centre) ** 2).sum() / (2 * priors.residual_sd_spread ** 2)
        return (nll + penalty) * scale

    def modes(start_eta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = {name: value.detach() for name, value in variables.items()}
        return _residual_modes(design, n_items, v["theta"], v["base"], torch.exp(v["log_a"]), form, slope(v),
                               residual_sd(v), start_eta)

    if random and start.residual_spread is None:  # first nodes on each item's posterior at the starting point
        centre, spread = modes(centre)
    iterations, converged, settled = 0, False, not random
    for _round in range(MAX_QUADRATURE_ROUNDS):
        eta = centre[:, None] + spread[:, None] * z[None]
        optimizer = torch.optim.LBFGS(list(variables.values()), lr=1.0, max_iter=max_iter, history_size=20,
                                      tolerance_grad=tol, tolerance_change=tol * 1e-5, line_search_fn="strong_wolfe")

        def objective() -> torch.Tensor:
            optimizer.zero_grad()
            loss = loss_at(variables, eta)
            loss.backward()
            evaluations[0] += 1
            if progress is not None:
                progress("fitting", min(evaluations[0], max_iter), max_iter)
            return loss

        optimizer.step(objective)
        run = int(optimizer.state[optimizer._params[0]].get("n_iter", 0))
        iterations += run
        converged = run < max_iter
        if not random:
            break
        mode, laplace = modes(centre)
        moved = float(torch.max((mode - centre).abs() / spread).item()) if n_items else 0.0
        stretched = float(torch.max(torch.log(laplace / spread).abs()).item()) if n_items else 0.0
        centre, spread = mode, laplace
        if moved < 0.05 and stretched < 0.05:
            settled = True
            break
    with torch.no_grad():
        if random:  # posterior mean and sd of each residual from the final nodes
            eta = centre[:, None] + spread[:, None] * z[None]
            posterior = torch.softmax(node_terms(variables, eta), dim=1)
            centre = (posterior * eta).sum(1)
            spread = torch.sqrt((posterior * (eta - centre[:, None]) ** 2).sum(1))
        if residual == "joint":
            b = variables["residual"].double().numpy().copy()
        elif random:
            b = (centre * residual_sd(variables)).double().numpy().copy()
        else:
            b = np.zeros(n_items)
        return Params(
            theta=variables["theta"].double().numpy().copy(), base=variables["base"].double().numpy().copy(),
            residual=b, discrimination=torch.exp(variables["log_a"]).double().numpy().copy(),
            theta_mean=variables["theta_mean"].double().numpy().copy(),
            base_mean=float(variables["base_mean"].item()),
            item_slope=torch.exp(variables["log_slope"]).double().numpy().copy() if item_slopes else None,
            residual_sd=float(residual_sd(variables).item()) if residual != "none" else float("nan"),
            residual_spread=(spread * residual_sd(variables)).double().numpy().copy() if random else None,
            converged=converged and settled, iterations=iterations,
            extra={"evaluations": evaluations[0]})


def _jacobian(design: _Design, theta: torch.Tensor, base: torch.Tensor, residual: torch.Tensor,
              discrimination: torch.Tensor, form: str, slope: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per observation: P (N,), dP/d(theta_j, u_j) (N, K+1) in closed form, and log-likelihood terms (N,)."""
    log_f, log_1mf, pair_logit = _log_factors(design, theta, base, residual, discrimination, form, slope)
    obs_slope = slope[design.item]
    free = torch.exp(design.log_free)
    f = torch.exp(log_f)
    p = design.guess + free * f
    k = design.n_scales
    n = len(design.subject)
    jac = torch.zeros(n * (k + 1), dtype=theta.dtype)
    a = discrimination[design.pair_scale]
    if form == "conjunctive":
        dp_dlogf = free * f
        base_logit = obs_slope * (base[design.subject] - residual[design.item])
        pair_grad = dp_dlogf[design.pair_obs] * a * torch.sigmoid(-pair_logit)
        base_grad = dp_dlogf * torch.sigmoid(-base_logit) * obs_slope
    else:
        dp_deta = free * f * torch.exp(log_1mf)
        pair_grad = dp_deta[design.pair_obs] * design.pair_weight * a
        base_grad = dp_deta * obs_slope
    jac.index_add_(0, design.pair_obs * (k + 1) + design.pair_scale, pair_grad)
    jac = jac.reshape(n, k + 1)
    jac[:, k] = base_grad
    return p, jac, _log_likelihood_terms(design, log_f, log_1mf)


def subject_information(obs: Observations, items: Items, params: Params, form: str = "conjunctive",
                        chunk: int = 50_000) -> np.ndarray:
    """(J, K+1, K+1) expected Fisher information of each subject's block ``(theta_j, u_j)``, items fixed."""
    design = _design(obs, items, len(params.theta), torch.float64)
    tensors = _tensors(params, torch.float64)
    p, jac, _ = _jacobian(design, tensors["theta"], tensors["base"], tensors["residual"],
                          tensors["discrimination"], _check_form(form), tensors["slope"])
    return _block_information(design, p, jac, chunk).numpy()


def _block_information(design: _Design, p: torch.Tensor, jac: torch.Tensor, chunk: int = 50_000) -> torch.Tensor:
    k1 = jac.shape[1]
    weight = design.trials / (p * (1 - p)).clamp(min=1e-12)
    info = torch.zeros(design.n_subjects, k1, k1, dtype=jac.dtype)
    for start in range(0, len(p), chunk):
        g = jac[start:start + chunk]
        info.index_add_(0, design.subject[start:start + chunk],
                        weight[start:start + chunk, None, None] * g[:, :, None] * g[:, None, :])
    return info


def prior_precision(params: Params, priors: Priors) -> np.ndarray:
    """(K+1,) diagonal prior precision of a subject block ``(theta_j, u_j)``."""
    k = len(params.discrimination)
    return np.concatenate([np.full(k, priors.theta_sd ** -2), [priors.base_sd ** -2]])


def posterior_precision(obs: Observations, items: Items, params: Params, priors: Priors,
                        form: str = "conjunctive") -> np.ndarray:
    """(J, K+1, K+1) Laplace precision of each subject block: Fisher information plus the prior precision."""
    return subject_information(obs, items, params, form) + np.diag(prior_precision(params, priors))[None]


def laplace_sd(precision: np.ndarray) -> np.ndarray:
    """(J, K+1) posterior standard deviations from block precisions (J, K+1, K+1)."""
    return np.sqrt(np.clip(np.diagonal(np.linalg.inv(precision), axis1=1, axis2=2), 0, None))


def fit_subjects(obs: Observations, items: Items, params: Params, n_subjects: int, *, form: str = "conjunctive",
                 priors: Priors = Priors(), max_iter: int = 100, tol: float = 1e-8,
                 init: tuple[np.ndarray, np.ndarray] | None = None,
                 n_threads: int | None = 1) -> tuple[np.ndarray, np.ndarray, bool]:
    """MAP abilities of ``n_subjects`` subjects with items, discriminations and population frozen.

    Uses ``params.residual``, the item slopes, ``params.discrimination``, ``params.theta_mean`` and ``params.base_mean``;
    returns theta (n_subjects, K), base (n_subjects,) and whether every subject converged. A
    subject without observations gets the population means. Batched Fisher scoring per subject
    block with step halving on each subject's own penalised objective.
    """
    with threads(n_threads):
        return _fit_subjects(obs, items, params, n_subjects, _check_form(form), priors, max_iter, tol, init)


def _fit_subjects(obs: Observations, items: Items, params: Params, n_subjects: int, form: str, priors: Priors,
                  max_iter: int, tol: float, init: tuple[np.ndarray, np.ndarray] | None
                  ) -> tuple[np.ndarray, np.ndarray, bool]:
    design = _design(obs, items, n_subjects, torch.float64)
    k = len(params.discrimination)
    mean = torch.as_tensor(np.concatenate([params.theta_mean, [params.base_mean]]), dtype=torch.float64)
    precision = torch.as_tensor(prior_precision(params, priors), dtype=torch.float64)
    residual = torch.as_tensor(params.residual, dtype=torch.float64)
    slope = torch.as_tensor(params.slopes(), dtype=torch.float64)
    a = torch.as_tensor(params.discrimination, dtype=torch.float64)
    phi = mean.repeat(n_subjects, 1) if init is None else torch.as_tensor(
        np.column_stack([init[0], init[1]]), dtype=torch.float64).clone()

    def penalised(phi_: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p, jac, ll = _jacobian(design, phi_[:, :k].contiguous(), phi_[:, k].contiguous(), residual, a, form, slope)
        per_subject = torch.zeros(n_subjects, dtype=torch.float64).index_add(0, design.subject, ll)
        objective = per_subject - 0.5 * (((phi_ - mean) ** 2) * precision).sum(1)
        return objective, p, jac

    objective, p, jac = penalised(phi)
    converged = torch.zeros(n_subjects, dtype=torch.bool)
    for _ in range(max_iter):
        score_weight = (design.successes - design.trials * p) / (p * (1 - p)).clamp(min=1e-12)
        grad = torch.zeros(n_subjects, k + 1, dtype=torch.float64).index_add(
            0, design.subject, score_weight[:, None] * jac) - (phi - mean) * precision
        info = _block_information(design, p, jac) + torch.diag(precision)[None]
        step = torch.linalg.solve(info, grad.unsqueeze(-1)).squeeze(-1)
        step = step * torch.clamp(1.0 / step.abs().amax(1, keepdim=True).clamp(min=1e-300), max=1.0)  # at most 1 unit
        step[converged] = 0.0
        shrink = torch.ones(n_subjects, 1, dtype=torch.float64)
        for _halving in range(30):
            trial = phi + shrink * step
            new_objective, new_p, new_jac = penalised(trial)
            worse = new_objective < objective - 1e-12
            if not worse.any():
                break
            shrink[worse] *= 0.5
        accepted = ~worse
        phi = torch.where(accepted[:, None], trial, phi)
        gain = (new_objective - objective).abs()
        objective = torch.where(accepted, new_objective, objective)
        converged |= (shrink.squeeze(1) * step.abs().amax(1) < tol) | (accepted & (gain < tol))
        p, jac = new_p, new_jac
        if worse.any():  # some subjects kept their old point: recompute at the accepted one
            objective, p, jac = penalised(phi)
        if converged.all():
            break
    return phi[:, :k].numpy().copy(), phi[:, k].numpy().copy(), bool(converged.all())


def item_jacobian(items: Items, theta: np.ndarray, base: float, residual: np.ndarray, discrimination: np.ndarray,
                  form: str = "conjunctive", slope: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One subject (``theta`` (K,), ``base``) on every item: P (I,) and dP/d(theta, u) (I, K+1).

    ``slope`` (I,): the items' slopes on the base factor (None: 1).
    """
    n = len(items.demands)
    obs = Observations(np.zeros(n, np.int64), np.arange(n), np.zeros(n), np.ones(n))
    design = _design(obs, items, 1, torch.float64)
    p, jac, _ = _jacobian(design, torch.as_tensor(np.asarray(theta, float)[None], dtype=torch.float64),
                          torch.as_tensor([float(base)], dtype=torch.float64),
                          torch.as_tensor(np.asarray(residual, float), dtype=torch.float64),
                          torch.as_tensor(np.asarray(discrimination, float), dtype=torch.float64), _check_form(form),
                          torch.as_tensor(np.ones(n) if slope is None else np.asarray(slope, float), dtype=torch.float64))
    return p.numpy(), jac.numpy()
