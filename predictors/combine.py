"""Combined assessors that cannot lose to their best part except by noise: the combination is chosen inside ``fit``.

Two parts read two feature matrices — a *tabular* part (the demand forest, or for many subjects the
forest on demands + ability profile) and a *text* part (a logistic model on MiniLM embeddings,
``C`` chosen by inner log loss). On inner folds of the training rows only (grouped as the caller
says, see :func:`predictors.stacking.inner_splits`) every variant gets out-of-fold predictions:

* ``demand`` — the tabular part alone;  ``embedding`` — the text part alone;
* ``stack`` — a logistic meta-model on both parts' out-of-fold logits (cross-fitted on the same folds);
* ``residual`` — the tabular part plus a ridge regression of its out-of-fold residual ``y − p`` on the
  embeddings (strength by generalised cross-validation on the inner held-out rows), clipped to [EPS, 1 − EPS];
* ``boost`` — gradient-boosted trees (XGBoost, the library's settings) on the tabular features plus
  the embeddings reduced by PCA to ``components`` dimensions (PCA and trees refitted per fold).

Two screens come first, because the protocols pool the predictions of held-out groups (tasks,
benchmarks) and a combination that ranks well within each group can still put a new group at the
wrong level. (1) Combinations are admitted only if the embedding part alone ranks the inner
held-out rows better than chance (AUROC > 0.5 + ``margin``): a text signal that is anti-informative
across held-out groups is group-specific, and a meta-model built on it carries the training groups'
base rates. (2) A variant is admitted only if its *level error* — the distance between each inner
held-out fold's mean prediction and its success rate, averaged, after a Platt calibration fitted
on the other inner folds — exceeds the simplest candidate's by at most ``LEVEL_SLACK``: that
calibration repairs what every fold shares (over-confidence, a global bias), not a level carried
over from other groups, which no calibration fitted on the training groups repairs for a new one. Among the admitted variants the one with the highest inner AUROC wins, except that an
earlier (simpler) one is preferred when it is within ``margin`` or within one standard error of the
difference (its spread over the inner folds) of the best — the one-standard-error rule, which keeps a
noisy inner estimate from picking a combination that only looked better. A calibration step —
``none``, ``platt`` (logistic on the logit) or ``isotonic`` — is then chosen by cross-fitted ECE of
the winner's out-of-fold predictions, by the same rule (the simpler one unless the better is ahead
by more than one standard error; a calibrator is admitted only if its pooled cross-fitted AUROC is
within ``CALIBRATION_SLACK`` of the uncalibrated one, as the protocols pool held-out predictions of
separately calibrated folds), and fitted on all of them. Because the tabular part alone is always a
candidate and passes both screens, the choice can lose to it only by the noise of the inner
estimate (with 3 inner folds, a standard error on two degrees of freedom); the embedding part alone
is a candidate too, but only if its level passes the second screen.

Known approximation: ``residual``'s and ``stack``'s second stage is cross-fitted on first-stage
out-of-fold predictions, whose models saw the other folds' labels (standard stacking practice).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.decomposition import PCA
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression, Ridge, RidgeCV

from assess.errors import InputError

from .classifiers import fit_weighted, make_classifier
from .metrics import auroc, ece
from .stacking import EPS, LOGISTIC_CS, Split, choose_logistic_C, fit_logistic, logistic_path, logits, out_of_fold

VARIANTS: tuple[str, ...] = ("demand", "embedding", "stack", "residual", "boost")
CALIBRATIONS: tuple[str, ...] = ("none", "platt", "isotonic")
#: A calibrator may cost at most this much pooled cross-fitted AUROC: isotonic steps make ties, and calibrators
#: fitted per fold reorder predictions across folds (held-out tasks with different base rates).
CALIBRATION_SLACK = 0.005
#: A variant is admitted only if its level error (:func:`level_error`) exceeds the simplest candidate's by at most
#: this: the protocols pool held-out groups, so a combination whose level moves from one held-out group to the
#: next (embeddings carry the training groups' base rates) loses pooled AUROC that no calibration fitted on the
#: training groups can win back.
LEVEL_SLACK = 0.02
#: The variants that combine both parts.
COMBINATIONS: tuple[str, ...] = ("stack", "residual", "boost")
#: Ridge strengths tried by the residual variant.
RIDGE_ALPHAS = tuple(np.logspace(-1, 4, 11))


@dataclass
class Linear:
    """``X @ coef + intercept``: a fitted ridge regression kept as plain arrays. coef (d,)."""

    coef: np.ndarray
    intercept: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, float) @ self.coef + self.intercept


@dataclass
class Projection:
    """``(X − mean) @ components.T``: a fitted PCA kept as plain arrays. mean (d,), components (k, d)."""

    mean: np.ndarray
    components: np.ndarray

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, float) - self.mean) @ self.components.T


@dataclass
class Calibrator:
    """A monotone map of probabilities: ``platt`` (params = [a, b]: sigmoid(a·logit p + b)), ``isotonic``
    (params = (2, k) knots x, y, linearly interpolated and clipped at the ends) or ``none``."""

    kind: str
    params: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __call__(self, p: np.ndarray) -> np.ndarray:
        if self.kind == "platt":
            return 1 / (1 + np.exp(-(self.params[0] * logits(p) + self.params[1])))
        if self.kind == "isotonic":
            return np.interp(p, self.params[0], self.params[1])
        return np.asarray(p, float)


def fit_calibrator(kind: str, p: np.ndarray, y: np.ndarray, weight: np.ndarray | None) -> Calibrator:
    """Fit a calibrator of ``kind`` mapping held-out probabilities ``p`` (n,) to outcomes ``y`` (n,)."""
    if kind == "platt":
        model = LogisticRegression(C=100.0, max_iter=1000).fit(logits(p)[:, None], y, sample_weight=weight)
        return Calibrator(kind, np.array([model.coef_[0, 0], model.intercept_[0]]))
    if kind == "isotonic":
        model = IsotonicRegression(y_min=EPS, y_max=1 - EPS, out_of_bounds="clip").fit(p, y, sample_weight=weight)
        return Calibrator(kind, np.vstack([model.X_thresholds_, model.y_thresholds_]))
    if kind == "none":
        return Calibrator(kind)
    raise InputError(f"unknown calibration {kind!r}; choose from {', '.join(CALIBRATIONS)}")


@dataclass
class ChosenModel:
    """The fitted winner: ``parts`` (tabular model or None, text model or None), the ``combiner`` its variant
    needs (stack: LogisticRegression; residual: :class:`Linear`; boost: (:class:`Projection`, XGBClassifier))
    and the ``calibrator``. ``scores`` holds the inner ``auroc`` and ``level_error`` of every variant, the ``ece``
    of every admitted calibration and the text part's ``C``."""

    variant: str
    parts: tuple
    combiner: object
    calibrator: Calibrator
    scores: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``variant+calibration``, e.g. ``stack+platt``."""
        return f"{self.variant}+{self.calibrator.kind}"

    def raw(self, tabular: np.ndarray, text: np.ndarray) -> np.ndarray:
        """(n,) success probabilities before calibration; ``tabular`` (n, d1), ``text`` (n, d2)."""
        first, second = self.parts
        if self.variant == "demand":
            return first.predict_proba(tabular)[:, 1]
        if self.variant == "embedding":
            return second.predict_proba(text)[:, 1]
        if self.variant == "stack":
            Z = np.column_stack([logits(first.predict_proba(tabular)[:, 1]), logits(second.predict_proba(text)[:, 1])])
            return self.combiner.predict_proba(Z)[:, 1]
        if self.variant == "residual":
            return np.clip(first.predict_proba(tabular)[:, 1] + self.combiner.predict(text), EPS, 1 - EPS)
        projection, booster = self.combiner
        return booster.predict_proba(np.hstack([tabular, projection.transform(text)]))[:, 1]

    def predict_proba(self, tabular: np.ndarray, text: np.ndarray) -> np.ndarray:
        """(n, 2) calibrated probabilities of failure and success."""
        p = np.clip(self.calibrator(self.raw(tabular, text)), 0.0, 1.0)
        return np.column_stack([1 - p, p])


@dataclass
class Combiner:
    """How to fit the parts: tabular ``classifier``, text ``C`` (None: chosen), ``text_groups`` (rows sharing a
    text, pooled for the logistic fit), the candidate ``variants`` and ``calibrations``, PCA ``components``."""

    classifier: str = "forest"
    C: float | None = None
    variants: Sequence[str] = VARIANTS
    calibrations: Sequence[str] = CALIBRATIONS
    margin: float = 0.005
    components: int = 8
    random_state: int | None = 0
    n_jobs: int | None = None

    def fit(self, tabular: np.ndarray, text: np.ndarray, y: np.ndarray, splits: Sequence[Split],
            weight: np.ndarray | None = None, text_groups: np.ndarray | None = None) -> ChosenModel:
        """Choose and fit on the training rows: ``tabular`` (n, d1), ``text`` (n, d2), ``y`` (n,) 0/1,
        ``weight`` (n,) or None, ``splits`` the inner folds."""
        check_choices(self.variants, self.calibrations)
        tabular_model = make_classifier(self.classifier, self.random_state, self.n_jobs)
        oof = {"demand": out_of_fold(tabular_model, tabular, y, splits, weight)}
        if self.C is None:
            C, oof["embedding"] = choose_logistic_C(text, y, splits, LOGISTIC_CS, text_groups, weight)
        else:
            C, oof["embedding"] = self.C, logistic_path(text, y, splits, (self.C,), text_groups, weight)[self.C]
        fold = _fold_index(splits, len(y))
        held = (fold >= 0) & ~np.isnan(oof["demand"]) & ~np.isnan(oof["embedding"])
        if len(np.unique(y[held])) < 2:
            raise InputError("the inner held-out rows hold a single outcome; more training rows are needed")
        w_held = _w(weight, held)
        if "stack" in self.variants:
            oof["stack"] = _cross_fit(lambda rows: _meta(oof, rows, y, weight), lambda m, rows: m.predict_proba(
                _logit_pair(oof, rows))[:, 1], fold, held)
        if "residual" in self.variants:
            alpha = _ridge_alpha(text[held], (y - oof["demand"])[held], w_held)
            oof["residual"] = _cross_fit(lambda rows: _ridge(text[rows], (y - oof["demand"])[rows], _w(weight, rows),
                                                             alpha),
                                         lambda m, rows: np.clip(oof["demand"][rows] + m.predict(text[rows]), EPS,
                                                                 1 - EPS), fold, held)
        if "boost" in self.variants:
            oof["boost"] = np.full(len(y), np.nan)
            for train, test in splits:
                model = self._boost(tabular[train], text[train], y[train], _w(weight, train))
                oof["boost"][test] = ChosenModel("boost", (None, None), model, Calibrator("none")).raw(
                    tabular[test], text[test])
        variant, scores, levels = choose_variant(oof, y, weight, fold, held, self.variants, self.margin)
        p = oof[variant]
        calibration, ece_scores = self._calibration(p, y, weight, fold, held)
        calibrator = fit_calibrator(calibration, p[held], y[held], w_held)
        return ChosenModel(variant, *self._final(variant, tabular, text, y, weight, text_groups, C, oof, held),
                           calibrator, {"auroc": scores, "level_error": levels, "ece": ece_scores, "C": C})

    def _calibration(self, p: np.ndarray, y: np.ndarray, weight: np.ndarray | None, fold: np.ndarray,
                     held: np.ndarray) -> tuple[str, dict]:
        calibrated = {kind: cross_calibrated(kind, p, y, weight, fold, held) for kind in self.calibrations}
        w = _w(weight, held)
        raw_auroc = auroc(y[held], p[held], w)
        scores = {k: ece(y[held], q[held], weight=w) for k, q in calibrated.items()}
        admitted = [k for k in CALIBRATIONS if k in scores and (
            k == "none" or auroc(y[held], calibrated[k][held], w) >= raw_auroc - CALIBRATION_SLACK)]
        admitted = admitted or [k for k in CALIBRATIONS if k in scores]  # no "none" among the candidates
        negated = {k: -scores[k] for k in admitted}  # lower ECE is better
        chosen = _simplest_within_noise(admitted, negated, 0.0, lambda k, best: _difference_se(
            lambda t, q, w: -ece(t, q, weight=w), calibrated[k], calibrated[best], y, weight, fold, held))
        return chosen, {k: scores[k] for k in admitted}

    def _boost(self, tabular: np.ndarray, text: np.ndarray, y: np.ndarray, weight: np.ndarray | None):
        pca = PCA(min(self.components, *text.shape), svd_solver="randomized", random_state=self.random_state).fit(text)
        projection = Projection(pca.mean_.astype(float), pca.components_.astype(float))
        booster = make_classifier("xgboost", self.random_state, self.n_jobs)
        fit_weighted(booster, np.hstack([tabular, projection.transform(text)]), y, weight)
        return projection, booster

    def _final(self, variant: str, tabular: np.ndarray, text: np.ndarray, y: np.ndarray, weight: np.ndarray | None,
               text_groups: np.ndarray | None, C: float, oof: dict, held: np.ndarray) -> tuple[tuple, object]:
        """(parts, combiner) of ``variant`` fitted on every training row."""
        if variant == "boost":
            return (None, None), self._boost(tabular, text, y, weight)
        first = second = None
        if variant != "embedding":
            first = make_classifier(self.classifier, self.random_state, self.n_jobs)
            fit_weighted(first, tabular, y, weight)
        if variant in ("embedding", "stack"):
            second = fit_logistic(text, y, C, text_groups, self.random_state, weight)
        if variant == "stack":
            return (first, second), _meta(oof, held, y, weight)
        if variant == "residual":
            target = (y - oof["demand"])[held]
            return (first, None), _ridge(text[held], target, _w(weight, held),
                                         _ridge_alpha(text[held], target, _w(weight, held)))
        return (first, second), None


def choose_variant(oof: dict, y: np.ndarray, weight: np.ndarray | None, fold: np.ndarray, held: np.ndarray,
                   variants: Sequence[str], margin: float) -> tuple[str, dict, dict]:
    """The variant to fit, with every variant's inner AUROC and level error (:func:`level_error` of its
    predictions after a Platt calibration cross-fitted on the other inner folds, which repairs what is common to
    every fold, such as over-confidence, but not a level that differs from one held-out group to the next).

    ``oof`` maps ``demand``, ``embedding`` and each of ``variants`` to out-of-fold probabilities (n,); ``fold``
    (n,) is each row's inner fold and ``held`` (n,) marks the rows every variant predicted. Combinations are not
    admitted when the embedding part alone ranks the held-out rows no better than chance (AUROC ≤ 0.5 +
    ``margin``), nor is a variant whose level error exceeds the simplest candidate's by more than
    ``LEVEL_SLACK``; among the rest the simplest within ``margin`` or one standard error of the best AUROC wins."""
    w = _w(weight, held)
    scores = {v: auroc(y[held], oof[v][held], w) for v in variants}
    levels = {v: level_error(cross_calibrated("platt", oof[v], y, weight, fold, held), y, weight, fold, held)
              for v in variants}
    text_transfers = auroc(y[held], oof["embedding"][held], w) > 0.5 + margin
    ordered = [v for v in VARIANTS if v in variants and (text_transfers or v not in COMBINATIONS)] \
        or [v for v in VARIANTS if v in variants]  # only combinations among the candidates: one must be taken
    admitted = [v for v in ordered if levels[v] <= levels[ordered[0]] + LEVEL_SLACK]
    variant = _simplest_within_noise(admitted, scores, margin, lambda v, best: _difference_se(
        auroc, oof[v], oof[best], y, weight, fold, held))
    return variant, scores, levels


def cross_calibrated(kind: str, p: np.ndarray, y: np.ndarray, weight: np.ndarray | None, fold: np.ndarray,
                     held: np.ndarray) -> np.ndarray:
    """``p`` (n,) calibrated by ``kind`` cross-fitted over the inner folds: each fold's held rows mapped by a
    calibrator fitted on the other folds' (NaN outside ``held``)."""
    return _cross_fit(lambda rows: fit_calibrator(kind, p[rows], y[rows], _w(weight, rows)),
                      lambda calibrator, rows: calibrator(p[rows]), fold, held)


def level_error(p: np.ndarray, y: np.ndarray, weight: np.ndarray | None, fold: np.ndarray,
                held: np.ndarray) -> float:
    """How far the mean prediction of each inner held-out fold is from its success rate, |mean p − mean y|,
    averaged over the folds by weight: calibration in the large of a held-out group."""
    errors, sizes = [], []
    for k in np.unique(fold[held]):
        rows = held & (fold == k)
        w = np.ones(int(rows.sum())) if weight is None else weight[rows]
        errors.append(abs(np.average(p[rows], weights=w) - np.average(y[rows], weights=w)))
        sizes.append(w.sum())
    return float(np.average(errors, weights=sizes))


def combiner_of(assessor) -> Combiner:
    """The :class:`Combiner` an assessor's parameters describe (checked here, at the boundary)."""
    check_choices(list(assessor.variants), list(assessor.calibrations))
    margin, components = assessor.margin, assessor.components
    if not (isinstance(margin, (int, float)) and 0 <= margin <= 0.5):
        raise InputError(f"margin must be an AUROC difference in [0, 0.5], got {margin!r}", column="margin")
    if not (isinstance(components, int) and 1 <= components <= 256):
        raise InputError(f"components must be an integer in 1-256, got {components!r}", column="components")
    return Combiner(assessor.classifier, assessor.C, tuple(assessor.variants), tuple(assessor.calibrations), margin,
                    components, assessor.random_state, assessor.n_jobs)


def check_choices(variants: Sequence[str], calibrations: Sequence[str]) -> None:
    """Refuse unknown or empty candidate lists, naming the bad entry."""
    for name, given, known in (("variants", variants, VARIANTS), ("calibrations", calibrations, CALIBRATIONS)):
        bad = [v for v in given if v not in known]
        if not given or bad:
            raise InputError(f"{name} must be a non-empty subset of {', '.join(known)}; got {list(given)!r}",
                             column=name)


def _w(weight: np.ndarray | None, rows) -> np.ndarray | None:
    return None if weight is None else weight[rows]


def _fold_index(splits: Sequence[Split], n: int) -> np.ndarray:
    """The inner fold holding out each row (−1: never held out)."""
    fold = np.full(n, -1)
    for k, (_, test) in enumerate(splits):
        fold[test] = k
    return fold


def _cross_fit(fit, predict, fold: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Second-stage out-of-fold predictions over the held-out rows: for each inner fold, ``fit`` on the held rows
    of the other folds (a boolean mask) and ``predict`` its own."""
    out = np.full(len(fold), np.nan)
    for k in np.unique(fold[held]):
        train, test = held & (fold != k), held & (fold == k)
        out[test] = predict(fit(train), test)
    return out


def _simplest_within_noise(candidates: Sequence[str], score: dict, margin: float, difference_se) -> str:
    """The first of ``candidates`` (simplest first) whose ``score`` (higher is better) is within ``margin`` or one
    standard error of the difference, ``difference_se(candidate, best)``, of the best one's."""
    best = max(candidates, key=score.get)
    return next(c for c in candidates if score[c] >= score[best] - max(margin, difference_se(c, best)))


def _difference_se(metric, p: np.ndarray, q: np.ndarray, y: np.ndarray, weight: np.ndarray | None, fold: np.ndarray,
                   held: np.ndarray) -> float:
    """Standard error of the difference ``metric(y, p) − metric(y, q)`` of two out-of-fold predictions, from its
    spread over the inner folds; ``metric(y, p, weight)``."""
    diffs = [metric(y[rows], p[rows], _w(weight, rows)) - metric(y[rows], q[rows], _w(weight, rows))
             for rows in (held & (fold == k) for k in np.unique(fold[held]))]
    diffs = np.asarray(diffs)[~np.isnan(diffs)]
    return float(np.std(diffs, ddof=1) / np.sqrt(len(diffs))) if len(diffs) >= 2 else 0.0


def _logit_pair(oof: dict, rows) -> np.ndarray:
    return np.column_stack([logits(oof["demand"][rows]), logits(oof["embedding"][rows])])


def _meta(oof: dict, rows, y: np.ndarray, weight: np.ndarray | None) -> LogisticRegression:
    return LogisticRegression(C=100.0, max_iter=1000).fit(_logit_pair(oof, rows), y[rows],
                                                           sample_weight=_w(weight, rows))


def _ridge_alpha(X: np.ndarray, target: np.ndarray, weight: np.ndarray | None) -> float:
    """The ridge strength with the lowest generalised cross-validation error over ``RIDGE_ALPHAS``."""
    return float(RidgeCV(alphas=RIDGE_ALPHAS).fit(X, target, sample_weight=weight).alpha_)


def _ridge(X: np.ndarray, target: np.ndarray, weight: np.ndarray | None, alpha: float) -> Linear:
    model = Ridge(alpha=alpha).fit(X, target, sample_weight=weight)
    return Linear(np.asarray(model.coef_, float), float(model.intercept_))
