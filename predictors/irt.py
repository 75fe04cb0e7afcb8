"""``IRTAssessor``: the joint demand-IRT model (:mod:`assess.irt.model`) as a scikit-learn estimator.

``X`` is a table of battery rows plus a ``subject`` column (and ``instance_id``, the level-scale
columns and UG); ``y`` the outcome per row, 0/1 or a graded score in [0, 1] (or ``successes``/
``trials`` columns in ``X``). One API covers the three prediction cases:

* (a) a known subject on new items: ``fit(X, y)`` on the population, then ``predict_proba`` on
  rows whose instances were never seen (their residual difficulty is 0: demands only);
* (b) a new subject from a handful of outcomes, items frozen: ``add_subjects(X_few, y_few)``,
  then ``predict_proba``; ``next_items`` proposes the most informative items to run next;
* (c) a new subject on new items from its profile: ``predict_proba(X, profiles={name: {scale:
  ability}})``, or ``add_subjects`` on its outcomes elsewhere and ``predict_proba`` on new rows.

Training rows may hold only a few outcomes of one subject: the priors keep the fit finite, and
predictions then cover that subject's other items.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from assess.errors import InputError
from assess.irt import model as irt
from assess.irt.adaptive import select_items
from assess.irt.tables import ability_frame, binomial_counts, check_scales, demand_matrix, evidence_counts, \
    guess_column, instance_at, item_table
from assess.scales import UG
from assess.scaleset import load_scale_set

from .features import SUBJECT_COLUMN, require_columns, require_table
from .npz import save_npz
from .safeio import load_npz

Profiles = Mapping[str, Mapping[str, float]]
#: Key of a profile entry holding the base (general) ability, in logits.
BASE_KEY = "base"
_ARRAYS = ("theta_", "base_", "theta_sd_", "base_sd_", "precision_", "evidence_", "residual_", "discrimination_",
           "theta_mean_", "item_slope_", "residual_spread_")


class IRTAssessor(ClassifierMixin, BaseEstimator):
    """Joint demand-IRT over subjects, scales and items; see :mod:`assess.irt.model` for the model.

    Parameters: ``scales`` the level-scale columns (any list; an empty one leaves the base factor
    alone: a Rasch model, with the UG guessing floor unless ``ug_column`` is None; None, the
    default: every level scale of the active scale set, the bundled rubrics plus the ``rubrics``
    folders, as ``--rubrics`` gives them); ``form`` ``conjunctive`` or
    ``compensatory``; ``residual`` how items get a residual difficulty (``empirical_bayes``,
    ``marginal``, ``joint`` or ``none``, see :func:`assess.irt.model.fit`; with
    ``empirical_bayes`` ``residual_prior_sd`` is only the centre of the residual sd's weak
    hyper-prior, the sd itself is estimated); ``item_slopes`` adds a slope per item on the base
    factor (2PL-style, ``log s_i ~ N(0, item_slope_prior_sd^2)``); the prior standard deviations;
    ``ug_column`` (None: no guessing floor) and ``missing_ug_floor`` for rows without UG;
    ``max_iter``/``tol`` of the joint L-BFGS fit.

    With a random residual (``marginal``, ``empirical_bayes``) predictions integrate over each
    item's residual posterior (known items) or over its fitted population distribution ``N(0,
    residual_sd_^2)`` (new items), as the fit's likelihood does.
    """

    def __init__(self, scales: Sequence[str] | None = None, form: str = "conjunctive", residual: str = "empirical_bayes",
                 item_slopes: bool = False, theta_prior_sd: float = 1.5, residual_prior_sd: float = 1.0,
                 item_slope_prior_sd: float = 0.5, base_prior_sd: float = 2.0,
                 discrimination_prior_sd: float = 0.5, ug_column: str | None = UG, missing_ug_floor: float = 0.0,
                 subject_column: str = SUBJECT_COLUMN, max_iter: int = 500, tol: float = 1e-7,
                 rubrics: Sequence[str] = ()) -> None:
        self.scales = scales
        self.rubrics = rubrics
        self.form = form
        self.residual = residual
        self.item_slopes = item_slopes
        self.theta_prior_sd = theta_prior_sd
        self.residual_prior_sd = residual_prior_sd
        self.item_slope_prior_sd = item_slope_prior_sd
        self.base_prior_sd = base_prior_sd
        self.discrimination_prior_sd = discrimination_prior_sd
        self.ug_column = ug_column
        self.missing_ug_floor = missing_ug_floor
        self.subject_column = subject_column
        self.max_iter = max_iter
        self.tol = tol

    # -- parameters -------------------------------------------------------------------------
    def _scale_list(self) -> list[str]:
        """The level scales to fit: ``scales`` as given, or every level scale of the active set."""
        if self.scales is not None:
            return check_scales(self.scales, self.ug_column)
        if isinstance(self.rubrics, str) or not isinstance(self.rubrics, Sequence):
            raise InputError(f"{type(self).__name__}: rubrics must be a list of rubric folders, got {self.rubrics!r}",
                             column="rubrics")
        return check_scales(load_scale_set(self.rubrics).level_codes, self.ug_column)

    def _priors(self) -> irt.Priors:
        """The priors, after checking every numeric and column parameter."""
        who = type(self).__name__
        if self.form not in irt.FORMS:
            raise InputError(f"{who}: form must be one of {', '.join(irt.FORMS)}, got {self.form!r}", column="form")
        if self.residual not in irt.RESIDUALS:
            raise InputError(f"{who}: residual must be one of {', '.join(irt.RESIDUALS)}, got {self.residual!r}",
                             column="residual")
        if not isinstance(self.item_slopes, (bool, np.bool_)):
            raise InputError(f"{who}: item_slopes must be True or False, got {self.item_slopes!r}", column="item_slopes")
        for name in ("theta_prior_sd", "residual_prior_sd", "item_slope_prior_sd", "base_prior_sd",
                     "discrimination_prior_sd", "tol"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise InputError(f"{who}: {name} must be a positive number, got {value!r}", column=name)
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 1:
            raise InputError(f"{who}: max_iter must be a positive integer, got {self.max_iter!r}", column="max_iter")
        floor = self.missing_ug_floor
        if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor < 1:
            raise InputError(f"{who}: missing_ug_floor must lie in [0, 1), got {floor!r}", column="missing_ug_floor")
        if self.ug_column is not None and not isinstance(self.ug_column, str):
            raise InputError(f"{who}: ug_column must be a column name or None, got {self.ug_column!r}")
        return irt.Priors(theta_sd=float(self.theta_prior_sd), base_sd=float(self.base_prior_sd),
                          residual_sd=float(self.residual_prior_sd), item_slope_sd=float(self.item_slope_prior_sd),
                          discrimination_sd=float(self.discrimination_prior_sd))

    def _rows(self, X: object, y: object | None, scales: list[str]
              ) -> tuple[pd.DataFrame, list[str], np.ndarray, list[str], np.ndarray, irt.Items, np.ndarray, np.ndarray]:
        """Validated training rows: subjects, subject index, item ids, item index, Items, successes, trials."""
        who = type(self).__name__
        rows = require_table(X, who)
        require_columns(rows, [self.subject_column], who)
        if rows.empty:
            raise InputError(f"{who}: no rows to fit")
        successes, trials = binomial_counts(rows, y, who)
        item_ids, item_index, items = item_table(rows, scales, self.ug_column, self.missing_ug_floor, who)
        names = rows[self.subject_column].astype(str).to_numpy()
        subjects, subject_index = np.unique(names, return_inverse=True)
        pairs = pd.Series(subject_index * len(item_ids) + item_index)
        repeated = pairs.duplicated()
        if repeated.any():
            row = int(np.flatnonzero(repeated.to_numpy())[0])
            raise InputError(f"{who}: a second outcome of subject {names[row]!r} on the same instance "
                             "(give repeated runs as successes/trials)", row=row + 1, instance_id=item_ids[item_index[row]],
                             column=self.subject_column)
        return rows, list(subjects), subject_index, item_ids, item_index, items, successes, trials

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Sequence[float] | None = None) -> "IRTAssessor":
        """Joint fit of every subject, item residual and discrimination on the rows of ``X``."""
        priors = self._priors()
        scales = self._scale_list()
        _, subjects, s_idx, item_ids, i_idx, items, successes, trials = self._rows(X, y, scales)
        obs = irt.Observations(s_idx, i_idx, successes, trials)
        params = irt.fit(obs, items, len(subjects), form=self.form, residual=self.residual,
                         item_slopes=bool(self.item_slopes), priors=priors, max_iter=int(self.max_iter), tol=float(self.tol))
        self.scales_ = scales
        self.item_ids_ = item_ids
        self.residual_ = params.residual
        self.item_slope_ = params.slopes()
        self.residual_spread_ = np.zeros(len(item_ids)) if params.residual_spread is None else params.residual_spread
        self.residual_sd_ = float(params.residual_sd)
        self.discrimination_ = params.discrimination
        self.theta_mean_ = params.theta_mean
        self.base_mean_ = float(params.base_mean)
        self.converged_ = bool(params.converged)
        self.subjects_ = []
        for name in ("theta_", "base_", "theta_sd_", "base_sd_", "precision_", "evidence_"):
            setattr(self, name, None)
        self._store_subjects(subjects, params.theta, params.base, obs, items)
        self.classes_ = np.array([0, 1])
        return self

    def _params(self, theta: np.ndarray | None = None, base: np.ndarray | None = None,
                items: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> irt.Params:
        """Params of the fitted model; ``items`` (residual, slope, spread) replaces the fitted items' arrays."""
        residual, slope, spread = (self.residual_, self.item_slope_, self.residual_spread_) if items is None else items
        return irt.Params(theta=self.theta_ if theta is None else theta, base=self.base_ if base is None else base,
                          residual=residual, item_slope=slope, residual_spread=spread,
                          discrimination=self.discrimination_, theta_mean=self.theta_mean_, base_mean=self.base_mean_)

    def _store_subjects(self, names: list[str], theta: np.ndarray, base: np.ndarray, obs: irt.Observations,
                        items: irt.Items, item_arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        """Append (or replace) subjects with their estimates, Laplace precision and evidence counts."""
        priors = self._priors()
        precision = irt.posterior_precision(obs, items, self._params(theta, base, item_arrays), priors, self.form)
        sd = irt.laplace_sd(precision)
        evidence = evidence_counts(obs.subject, obs.item, np.asarray(obs.trials, float), items.demands, len(names))
        new = {"theta_": theta, "base_": base, "theta_sd_": sd[:, :-1], "base_sd_": sd[:, -1],
               "precision_": precision, "evidence_": evidence}
        keep = np.array([s not in set(names) for s in self.subjects_], bool)
        for name, values in new.items():
            old = getattr(self, name)
            setattr(self, name, values if old is None else np.concatenate([old[keep], values]))
        self.subjects_ = [s for s, k in zip(self.subjects_, keep) if k] + list(names)

    def add_subjects(self, X: pd.DataFrame, y: Sequence[float] | None = None, *, replace: bool = False
                     ) -> "IRTAssessor":
        """Fit new subjects from their outcomes with items, discriminations and population frozen (case b).

        Rows on instances the model knows use their residual difficulty; new instances use 0 and
        are not added to the model. ``replace`` refits subjects the model already has.
        """
        check_is_fitted(self, "theta_")
        _, subjects, s_idx, item_ids, i_idx, items, successes, trials = self._rows(X, y, self.scales_)
        known = sorted(set(subjects) & set(self.subjects_))
        if known and not replace:
            raise InputError(f"{type(self).__name__}: subject(s) {', '.join(map(repr, known))} are already fitted; "
                             "pass replace=True to refit them from these rows", column=self.subject_column)
        residual, slope, _ = self._item_arrays(item_ids)
        priors = self._priors()
        obs = irt.Observations(s_idx, i_idx, successes, trials)
        point = (residual, slope, None)  # the subject fit takes each known residual at its posterior mean
        theta, base, _ = irt.fit_subjects(obs, items, self._params(items=point), len(subjects), form=self.form,
                                          priors=priors)
        self._store_subjects(subjects, theta, base, obs, items, point)
        return self

    def _item_arrays(self, ids: Sequence[str] | None, n: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Residual, slope and residual spread (posterior sd) of items ``ids`` (None: ``n`` unnamed items).

        A known item has its fitted values; a new one residual 0, slope 1 and, with a random residual,
        the fitted population sd of residuals as its spread (0 otherwise).
        """
        index = np.full(n, -1) if ids is None else pd.Index(self.item_ids_).get_indexer(pd.Index([str(i) for i in ids]))
        known = index >= 0
        new_spread = self.residual_sd_ if self.residual in irt.RANDOM_RESIDUALS else 0.0
        out = []
        for values, default in ((self.residual_, 0.0), (self.item_slope_, 1.0), (self.residual_spread_, new_spread)):
            column = np.full(len(index), default, dtype=float)
            column[known] = values[index[known]]
            out.append(column)
        return out[0], out[1], out[2]

    # -- prediction -------------------------------------------------------------------------
    def _profile_rows(self, names: np.ndarray, profiles: Profiles, X: pd.DataFrame
                      ) -> tuple[np.ndarray, np.ndarray]:
        """theta (S, K) and base (S,) of each distinct subject name: profiles first, then fitted subjects."""
        known = {s: i for i, s in enumerate(self.subjects_)}
        theta = np.empty((len(names), len(self.scales_)))
        base = np.empty(len(names))
        subjects = X[self.subject_column].astype(str).to_numpy()
        for n, name in enumerate(names):
            if name in profiles:
                theta[n], base[n] = self._from_profile(name, profiles[name])
            elif name in known:
                theta[n], base[n] = self.theta_[known[name]], self.base_[known[name]]
            else:
                row = int(np.flatnonzero(subjects == name)[0])
                raise InputError(f"{type(self).__name__}: unknown subject {name!r}; fit it (add_subjects) or pass "
                                 "its profile", row=row + 1, instance_id=instance_at(X, row), column=self.subject_column)
        return theta, base

    def _from_profile(self, name: str, profile: Mapping[str, float]) -> tuple[np.ndarray, float]:
        """A profile's abilities per scale; scales it lacks (or NaN) take the population mean."""
        if not isinstance(profile, Mapping):
            raise InputError(f"profile of {name!r} must map scale -> ability, got {type(profile).__name__}")
        theta = self.theta_mean_.copy()
        for k, scale in enumerate(self.scales_):
            value = profile.get(scale)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                try:
                    theta[k] = float(value)
                except (TypeError, ValueError):
                    raise InputError(f"profile of {name!r}: ability on {scale} must be a number, got {value!r}",
                                     column=scale) from None
        base = profile.get(BASE_KEY)
        return theta, float(base) if base is not None and np.isfinite(float(base)) else self.base_mean_

    def predict_proba(self, X: pd.DataFrame, profiles: Profiles | None = None) -> np.ndarray:
        """(n, 2) probabilities of failure and success; ``profiles`` gives (or overrides) subjects' abilities."""
        check_is_fitted(self, "theta_")
        who = type(self).__name__
        rows = require_table(X, who)
        require_columns(rows, [self.subject_column], who)
        if rows.empty:
            return np.zeros((0, 2))
        demands = demand_matrix(rows, self.scales_, who)
        guess = guess_column(rows, self.ug_column, self.missing_ug_floor, who)
        item_arrays = self._item_arrays(rows["instance_id"] if "instance_id" in rows.columns else None, len(rows))
        names, subject_index = np.unique(rows[self.subject_column].astype(str).to_numpy(), return_inverse=True)
        theta, base = self._profile_rows(names, dict(profiles or {}), rows)
        p = irt.probability(subject_index, np.arange(len(rows)), irt.Items(demands, guess),
                            self._params(theta, base, item_arrays), self.form)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame, profiles: Profiles | None = None) -> np.ndarray:
        """Predicted outcome (1 when success probability >= 0.5)."""
        return (self.predict_proba(X, profiles)[:, 1] >= 0.5).astype(int)

    # -- profiles and adaptive testing --------------------------------------------------------
    def abilities(self, subjects: Sequence[str] | None = None) -> pd.DataFrame:
        """Long ability table (subject, scale, ability, ci_low, ci_high, n, intercept, slope) of fitted subjects."""
        check_is_fitted(self, "theta_")
        chosen = list(self.subjects_) if subjects is None else [str(s) for s in subjects]
        index = self._subject_indices(chosen)
        return ability_frame(chosen, self.scales_, self.theta_[index], self.theta_sd_[index], self.evidence_[index],
                             self.discrimination_)

    def profiles(self) -> dict[str, dict[str, float]]:
        """Every fitted subject's abilities (all scales, prior mean where no evidence) plus its base ability."""
        check_is_fitted(self, "theta_")
        return {s: {**{k: float(v) for k, v in zip(self.scales_, self.theta_[j])}, BASE_KEY: float(self.base_[j])}
                for j, s in enumerate(self.subjects_)}

    def _subject_indices(self, names: Sequence[str]) -> np.ndarray:
        index = pd.Index(self.subjects_).get_indexer(pd.Index(names))
        if (index < 0).any():
            missing = [n for n, i in zip(names, index) if i < 0]
            raise InputError(f"{type(self).__name__}: unknown subject(s) {', '.join(map(repr, missing))}",
                             column=self.subject_column)
        return index

    def next_items(self, subject: str, candidates: pd.DataFrame, k: int) -> pd.DataFrame:
        """The ``k`` candidate rows most informative about ``subject`` (greedy D-optimal), in pick order.

        Returns the chosen rows with ``p_success`` (at the current estimate) and ``information_gain``
        (log-det gain of the posterior precision). A subject the model does not know starts from
        the population prior (a cold start: no outcomes yet).
        """
        check_is_fitted(self, "theta_")
        who = type(self).__name__
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"{who}: k must be a positive integer, got {k!r}", column="k")
        rows = require_table(candidates, who).reset_index(drop=True)
        if rows.empty:
            raise InputError(f"{who}: no candidate items to choose from")
        theta, base, precision = self._current(str(subject))
        items = irt.Items(demand_matrix(rows, self.scales_, who),
                          guess_column(rows, self.ug_column, self.missing_ug_floor, who))
        residual, slope, _ = self._item_arrays(rows["instance_id"] if "instance_id" in rows.columns else None, len(rows))
        chosen, gains = select_items(items, theta, base, residual, self.discrimination_, precision, int(k), self.form,
                                     slope)
        p, _ = irt.item_jacobian(items, theta, base, residual, self.discrimination_, self.form, slope)
        picked = rows.iloc[chosen].copy()
        picked.insert(0, "rank", np.arange(1, len(chosen) + 1))
        picked["p_success"] = p[chosen]
        picked["information_gain"] = gains
        return picked.reset_index(drop=True)

    def _current(self, subject: str) -> tuple[np.ndarray, float, np.ndarray]:
        """A subject's estimate and posterior precision; the population prior for an unknown subject."""
        if subject in self.subjects_:
            j = self.subjects_.index(subject)
            return self.theta_[j], float(self.base_[j]), self.precision_[j]
        priors = self._priors()
        return self.theta_mean_.copy(), self.base_mean_, np.diag(irt.prior_precision(self._params(), priors))

    # -- persistence (used by predictors.persistence: JSON + npz, never pickle) ----------------
    def save_state(self, folder: Path) -> dict[str, Any]:
        """Write the fitted arrays to ``folder/irt.npz``; return the JSON-able rest of the state."""
        save_npz(folder / "irt.npz", {name.rstrip("_"): np.asarray(getattr(self, name), float) for name in _ARRAYS})
        return {"classifier": "irt", "scales": list(self.scales_), "subjects": list(self.subjects_),
                "item_ids": list(self.item_ids_), "base_mean": self.base_mean_, "residual_sd": self.residual_sd_ if math.isfinite(self.residual_sd_) else None,
                "converged": self.converged_}

    def load_state(self, state: Mapping[str, Any], folder: Path) -> None:
        """Rebuild the fitted state written by :meth:`save_state`; shapes are checked."""
        arrays = load_npz(folder / "irt.npz")
        for name in _ARRAYS:
            values = arrays[name.rstrip("_")]
            if not np.issubdtype(values.dtype, np.floating):
                raise ValueError(f"array {name} must hold floats")
            setattr(self, name, values)
        self.scales_ = [str(s) for s in state["scales"]]
        self.subjects_ = [str(s) for s in state["subjects"]]
        self.item_ids_ = [str(s) for s in state["item_ids"]]
        self.base_mean_ = float(state["base_mean"])
        self.residual_sd_ = float("nan") if state["residual_sd"] is None else float(state["residual_sd"])
        self.converged_ = bool(state["converged"])
        j, k = len(self.subjects_), len(self.scales_)
        expected = {"theta_": (j, k), "base_": (j,), "theta_sd_": (j, k), "base_sd_": (j,),
                    "precision_": (j, k + 1, k + 1), "evidence_": (j, k), "residual_": (len(self.item_ids_),),
                    "item_slope_": (len(self.item_ids_),), "residual_spread_": (len(self.item_ids_),),
                    "discrimination_": (k,), "theta_mean_": (k,)}
        wrong = [n for n, shape in expected.items() if getattr(self, n).shape != shape]
        if wrong:
            raise ValueError(f"array {wrong[0]} has shape {getattr(self, wrong[0]).shape}, expected {expected[wrong[0]]}")
        self.classes_ = np.array([0, 1])

