"""The demand-IRT core: likelihood against a plain implementation, Jacobian against finite differences,
recovery of known abilities where SCC is biased, and the frozen-item subject fit."""
from __future__ import annotations

import math

import numpy as np
import pytest

from assess.abilities import ability_table
from assess.irt import model as irt
from assess.irt.adaptive import select_items
from assess.irt.synthetic import conjunctive_battery, demands
from assess.scales import SCALES


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def plain_probability(theta, base, residual, a, d, c, form):
    """The model's formula written out for one subject and one item, loops only."""
    demanded = [k for k in range(len(d)) if d[k] > 0]
    if form == "conjunctive":
        f = _sigmoid(base - residual)
        for k in demanded:
            f *= _sigmoid(a[k] * (theta[k] - d[k]))
    else:
        total = sum(d[k] for k in demanded)
        eta = base - residual + sum(d[k] / total * a[k] * (theta[k] - d[k]) for k in demanded)
        f = _sigmoid(eta)
    return c + (1 - c) * f


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(3)
    n_subjects, n_items, k = 4, 30, 5
    items = irt.Items(demands(n_items, k, rng, (0, 3)), rng.choice([0.0, 0.1, 0.25], n_items))
    params = irt.Params(theta=rng.uniform(0, 5, (n_subjects, k)), base=rng.uniform(0, 4, n_subjects),
                        residual=rng.normal(0, 1, n_items), discrimination=rng.uniform(0.5, 3, k),
                        theta_mean=np.zeros(k), base_mean=0.0)
    subject = np.repeat(np.arange(n_subjects), n_items)
    item = np.tile(np.arange(n_items), n_subjects)
    trials = rng.integers(1, 4, len(item)).astype(float)
    successes = np.floor(rng.random(len(item)) * (trials + 1))
    return items, params, irt.Observations(subject, item, successes, trials)


@pytest.mark.parametrize("form", irt.FORMS)
def test_probability_and_likelihood_match_the_plain_formula(small, form):
    items, params, obs = small
    assert (items.demands.sum(axis=1) == 0).any()  # items with no demand fall back on the base factor
    p = irt.probability(obs.subject, obs.item, items, params, form)
    ll = irt.log_likelihood(obs, items, params, form)
    for n, (j, i) in enumerate(zip(obs.subject, obs.item)):
        expected = plain_probability(params.theta[j], params.base[j], params.residual[i], params.discrimination,
                                     items.demands[i], items.guess[i], form)
        assert p[n] == pytest.approx(expected, rel=1e-10)
        s, t = obs.successes[n], obs.trials[n]
        assert ll[n] == pytest.approx(s * math.log(expected) + (t - s) * math.log(1 - expected), rel=1e-9)


@pytest.mark.parametrize("form", irt.FORMS)
@pytest.mark.parametrize("with_slopes", [False, True])
def test_closed_form_jacobian_matches_finite_differences(small, form, with_slopes):
    items, params, _ = small
    theta, base = params.theta[1], params.base[1]
    slope = np.random.default_rng(8).uniform(0.3, 3, len(params.residual)) if with_slopes else None
    p, jac = irt.item_jacobian(items, theta, base, params.residual, params.discrimination, form, slope)
    step = 1e-6
    for k in range(len(theta) + 1):
        up_theta, down_theta = theta.copy(), theta.copy()
        up_base = down_base = base
        if k < len(theta):
            up_theta[k] += step
            down_theta[k] -= step
        else:
            up_base, down_base = base + step, base - step
        up, _ = irt.item_jacobian(items, up_theta, up_base, params.residual, params.discrimination, form, slope)
        down, _ = irt.item_jacobian(items, down_theta, down_base, params.residual, params.discrimination, form, slope)
        np.testing.assert_allclose(jac[:, k], (up - down) / (2 * step), atol=1e-7)


@pytest.fixture(scope="module")
def recovery():
    scales = SCALES[:6]
    data = conjunctive_battery(scales, n_subjects=8, n_items=4000, seed=0, per_item=(3, 5))
    from assess.battery import join
    from predictors.irt import IRTAssessor

    rows = join(data.battery, data.outcomes)
    model = IRTAssessor(scales=scales).fit(rows, rows["correct"])
    return data, model


def test_joint_model_recovers_abilities_where_scc_is_biased(recovery):
    data, model = recovery
    truth = data.theta.to_numpy()
    joint = model.abilities().pivot(index="subject", columns="scale", values="ability")[list(data.scales)]
    joint_error = np.abs(joint.loc[data.theta.index].to_numpy() - truth).mean()
    scc = ability_table(data.battery, data.outcomes, scales=data.scales)
    scc = scc.pivot(index="subject", columns="scale", values="ability")[list(data.scales)]
    scc_error = np.nanmean(np.abs(scc.loc[data.theta.index].to_numpy() - truth))
    assert joint_error < 0.25
    assert 0.5 <= scc_error <= 2.0
    # the Laplace intervals are roughly calibrated: most true abilities fall inside them
    table = model.abilities().set_index(["subject", "scale"])
    inside = [(table.loc[(s, k), "ci_low"] <= data.theta.loc[s, k] <= table.loc[(s, k), "ci_high"])
              for s in data.theta.index for k in data.scales]
    assert np.mean(inside) >= 0.75


def test_frozen_item_fit_reproduces_the_joint_estimates():
    scales = SCALES[:4]
    data = conjunctive_battery(scales, n_subjects=5, n_items=600, seed=2)
    rows = data.outcomes.merge(data.battery, on="instance_id")
    from predictors.irt import IRTAssessor

    model = IRTAssessor(scales=scales, residual="none")
    _, names, s_idx, ids, i_idx, items, successes, trials = model._rows(rows, rows["correct"], list(scales))
    obs = irt.Observations(s_idx, i_idx, successes, trials)
    joint = irt.fit(obs, items, len(names), residual="none", tol=1e-10)
    theta, base, converged = irt.fit_subjects(obs, items, joint, len(names))
    assert converged
    np.testing.assert_allclose(theta, joint.theta, atol=2e-3)
    np.testing.assert_allclose(base, joint.base, atol=5e-3)
    # a subject with no observations gets the population means
    empty = irt.Observations(np.zeros(0, int), np.zeros(0, int), np.zeros(0), np.zeros(0))
    theta0, base0, _ = irt.fit_subjects(empty, items, joint, 1)
    np.testing.assert_allclose(theta0[0], joint.theta_mean)
    assert base0[0] == pytest.approx(joint.base_mean)


def test_marginal_residuals_track_item_difficulty_and_vanish_with_a_tight_prior():
    scales = SCALES[:3]
    data = conjunctive_battery(scales, n_subjects=40, n_items=300, seed=4, base=1.5, residual_sd=1.5,
                               per_item=(1, 2), ug_choices=(100.0,))
    rows = data.outcomes.merge(data.battery, on="instance_id")
    from predictors.irt import IRTAssessor

    model = IRTAssessor(scales=scales, residual="marginal", residual_prior_sd=1.5).fit(rows, rows["correct"])
    truth = data.params.residual[np.array([int(i.split("/")[1]) for i in model.item_ids_])]
    failure_rate = 1 - rows.groupby("instance_id")["correct"].mean().loc[model.item_ids_].to_numpy()
    # demands explain most of the failures, so the residual beats the raw failure rate by far
    assert np.corrcoef(model.residual_, truth)[0, 1] > max(0.45, np.corrcoef(failure_rate, truth)[0, 1] + 0.2)
    tight = IRTAssessor(scales=scales, residual="marginal", residual_prior_sd=1e-3).fit(rows, rows["correct"])
    assert np.abs(tight.residual_).max() < 1e-3


@pytest.mark.parametrize("true_sd", [0.6, 1.5])
def test_empirical_bayes_recovers_the_residual_sd(true_sd):
    scales = SCALES[:3]
    data = conjunctive_battery(scales, n_subjects=40, n_items=300, seed=4, base=1.5, residual_sd=true_sd,
                               per_item=(1, 2), ug_choices=(100.0,))
    rows = data.outcomes.merge(data.battery, on="instance_id")
    from predictors.irt import IRTAssessor

    # the hyper-prior is centred at 1 (residual_prior_sd), the estimate follows the data on either side
    model = IRTAssessor(scales=scales, residual="empirical_bayes").fit(rows, rows["correct"])
    sample_sd = float(np.std(data.params.residual))
    assert model.residual_sd_ == pytest.approx(sample_sd, abs=0.25)
    # posteriors are no wider than the prior (up to the 7-node quadrature's error where the data say little)
    assert model.residual_spread_.max() < 1.05 * model.residual_sd_
    # a fixed prior of the wrong size gives a worse marginal fit of the residuals than the estimated one
    truth = data.params.residual[np.array([int(i.split("/")[1]) for i in model.item_ids_])]
    fixed = IRTAssessor(scales=scales, residual="marginal", residual_prior_sd=0.2).fit(rows, rows["correct"])
    assert np.mean((model.residual_ - truth) ** 2) < np.mean((fixed.residual_ - truth) ** 2)


def _node_posterior_mean(obs, items, params, grid):
    """Each item's posterior mean residual on a dense grid, abilities fixed (the check on the quadrature)."""
    log_post = np.zeros((len(items.demands), len(grid)))
    for g, b in enumerate(grid):
        at = irt.Params(**{**params.__dict__, "residual": np.full(len(items.demands), b), "residual_spread": None})
        log_post[:, g] = np.bincount(obs.item, irt.log_likelihood(obs, items, at), len(items.demands))
    log_post += -0.5 * (grid / params.residual_sd) ** 2
    weights = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    return (weights * grid).sum(1) / weights.sum(1)


def test_adaptive_quadrature_matches_a_dense_grid_where_the_posterior_is_narrow():
    scales = SCALES[:2]
    data = conjunctive_battery(scales, n_subjects=60, n_items=40, seed=5, base=1.0, residual_sd=2.0,
                               per_item=(1, 1), ug_choices=(100.0,))
    from predictors.irt import IRTAssessor

    rows = data.outcomes.merge(data.battery, on="instance_id")
    model = IRTAssessor(scales=scales, residual="marginal", residual_prior_sd=2.0)
    _, names, s_idx, ids, i_idx, items, successes, trials = model._rows(rows, rows["correct"], list(scales))
    obs = irt.Observations(s_idx, i_idx, successes, trials)
    params = irt.fit(obs, items, len(names), residual="marginal", priors=irt.Priors(residual_sd=2.0))
    dense = _node_posterior_mean(obs, items, params, np.linspace(-10, 10, 801))
    # 60 answers per item: most posteriors are several times narrower than the prior (some one-sided,
    # where an item was nearly always failed), yet 7 nodes centred on each of them match the grid
    assert params.converged and np.median(params.residual_spread) < 0.5 * params.residual_sd
    np.testing.assert_allclose(params.residual, dense, atol=0.03)


def test_item_slopes_of_a_2pl_are_recovered():
    rng = np.random.default_rng(6)
    n_subjects, n_items = 300, 60
    truth = irt.Params(theta=np.zeros((n_subjects, 0)), base=rng.normal(0, 1.5, n_subjects),
                       residual=rng.normal(0, 1, n_items), discrimination=np.zeros(0), theta_mean=np.zeros(0),
                       base_mean=0.0, item_slope=np.exp(rng.normal(0, 0.5, n_items)))
    items = irt.Items(np.zeros((n_items, 0)), np.zeros(n_items))
    subject, item = np.repeat(np.arange(n_subjects), n_items), np.tile(np.arange(n_items), n_subjects)
    correct = (rng.random(len(item)) < irt.probability(subject, item, items, truth)).astype(float)
    obs = irt.Observations(subject, item, correct, np.ones(len(item)))
    fit = irt.fit(obs, items, n_subjects, residual="joint", item_slopes=True,
                  priors=irt.Priors(residual_sd=3.0, base_sd=3.0, item_slope_sd=1.0))
    assert np.corrcoef(np.log(fit.item_slope), np.log(truth.item_slope))[0, 1] > 0.75
    assert np.corrcoef(fit.residual, truth.residual)[0, 1] > 0.95
    rasch = irt.fit(obs, items, n_subjects, residual="joint", priors=irt.Priors(residual_sd=3.0, base_sd=3.0))
    assert irt.log_likelihood(obs, items, fit).sum() > irt.log_likelihood(obs, items, rasch).sum() + 50


def test_predictive_probability_integrates_over_the_residual_posterior(small):
    items, params, obs = small
    spread = np.linspace(0.0, 2.0, len(params.residual))
    wide = irt.Params(**{**params.__dict__, "residual_spread": spread})
    p = irt.probability(obs.subject, obs.item, items, wide)
    grid = np.linspace(-8, 8, 2001)
    density = np.exp(-0.5 * grid ** 2)
    for n in range(0, len(obs.subject), 7):
        j, i = obs.subject[n], obs.item[n]
        values = [plain_probability(params.theta[j], params.base[j], params.residual[i] + spread[i] * z,
                                    params.discrimination, items.demands[i], items.guess[i], "conjunctive")
                  for z in grid[::20]]
        expected = np.sum(np.array(values) * density[::20]) / density[::20].sum()
        assert p[n] == pytest.approx(expected, abs=2e-3)
    point = irt.probability(obs.subject, obs.item, items, params)
    np.testing.assert_allclose(p[spread[obs.item] == 0], point[spread[obs.item] == 0])


def test_d_optimal_picks_spread_over_scales_and_beat_a_redundant_item():
    k = 3
    # candidate 0..2 each demand one scale at the subject's ability (most informative), 3..5 duplicate scale 0
    d = np.zeros((6, k))
    d[[0, 1, 2], [0, 1, 2]] = 2.0
    d[3:, 0] = 2.0
    items = irt.Items(d, np.zeros(6))
    precision = np.diag(np.full(k + 1, 1.0))
    precision[0, 0] = 50.0  # scale 0 already well measured
    chosen, gains = select_items(items, np.full(k, 2.0), 5.0, np.zeros(6), np.full(k, 2.0), precision, 2)
    assert set(chosen) == {1, 2}
    assert gains[0] >= gains[1] > 0
    with pytest.raises(ValueError):
        select_items(items, np.full(k, 2.0), 5.0, np.zeros(6), np.full(k, 2.0), precision, 0)
