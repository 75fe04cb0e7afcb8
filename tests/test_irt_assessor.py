"""IRTAssessor: the three prediction cases, adaptive selection, graded outcomes, persistence and located errors."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from assess.battery import join, validate_battery
from assess.errors import InputError
from assess.irt import model as irt
from assess.irt.synthetic import conjunctive_battery
from assess.scales import SCALES
from assess.scaleset import default_scale_set, load_scale_set
from predictors import IRTAssessor, load, make_assessor, save

SCALES6 = SCALES[:6]
POPULATION = [f"s{j:03d}" for j in range(10)]
NEWCOMERS = [f"s{j:03d}" for j in range(10, 16)]


@pytest.fixture(scope="module")
def world():
    data = conjunctive_battery(SCALES6, n_subjects=16, n_items=1500, seed=1, per_item=(2, 4))
    rows = join(data.battery, data.outcomes)
    ids = data.battery["instance_id"]
    old_items, new_items = set(ids[:1000]), set(ids[1000:])
    truth = data.params
    index = {s: j for j, s in enumerate(data.theta.index)}
    item_index = {i: n for n, i in enumerate(ids)}
    rows["p_true"] = irt.probability(rows["subject"].map(index).to_numpy(), rows["instance_id"].map(item_index).to_numpy(),
                                     irt.Items(data.battery[list(SCALES6)].to_numpy(), irt.guess_floor(data.battery["UG"])),
                                     truth)
    train = rows[rows["subject"].isin(POPULATION) & rows["instance_id"].isin(old_items)]
    model = IRTAssessor(scales=SCALES6).fit(train, train["correct"])
    return data, rows, model, old_items, new_items


def _auroc(rows: pd.DataFrame, p: np.ndarray) -> float:
    return roc_auc_score(rows["correct"], p)


def test_case_a_known_subject_on_new_items(world):
    data, rows, model, _, new_items = world
    test = rows[rows["subject"].isin(POPULATION) & rows["instance_id"].isin(new_items)]
    p = model.predict_proba(test)
    assert p.shape == (len(test), 2) and np.allclose(p.sum(axis=1), 1)
    assert _auroc(test, p[:, 1]) >= _auroc(test, test["p_true"]) - 0.03
    assert abs(p[:, 1].mean() - test["correct"].mean()) < 0.03  # calibrated in the large on unseen items


def test_case_b_new_subject_from_a_handful_of_outcomes_items_frozen(world):
    data, rows, model, old_items, _ = world
    model = copy.deepcopy(model)  # a private copy to extend
    before = (model.residual_.copy(), model.discrimination_.copy(), list(model.item_ids_))
    rng = np.random.default_rng(0)
    mine = rows[(rows["subject"] == "s010") & rows["instance_id"].isin(old_items)]
    few = mine.iloc[rng.choice(len(mine), 100, replace=False)]
    model.add_subjects(few, few["correct"])
    np.testing.assert_array_equal(model.residual_, before[0])
    np.testing.assert_array_equal(model.discrimination_, before[1])
    assert model.item_ids_ == before[2] and "s010" in model.subjects_
    rest = mine[~mine["instance_id"].isin(few["instance_id"])]
    assert _auroc(rest, model.predict_proba(rest)[:, 1]) >= _auroc(rest, rest["p_true"]) - 0.06
    with pytest.raises(InputError, match="already fitted"):
        model.add_subjects(few, few["correct"])
    model.add_subjects(few.iloc[:50], few["correct"].iloc[:50], replace=True)
    assert model.subjects_.count("s010") == 1


def test_case_c_new_subject_on_new_items_from_its_profile(world):
    data, rows, model, old_items, new_items = world
    test = rows[(rows["subject"] == "s011") & rows["instance_id"].isin(new_items)]
    with pytest.raises(InputError, match="unknown subject 's011'"):
        model.predict_proba(test)
    profile = {"s011": data.theta.loc["s011"].to_dict()}
    p = model.predict_proba(test, profiles=profile)[:, 1]
    assert _auroc(test, p) >= _auroc(test, test["p_true"]) - 0.02
    # the same subject profiled by the model from its outcomes on other items
    seen = rows[(rows["subject"] == "s011") & rows["instance_id"].isin(old_items)]
    fitted = copy.deepcopy(model).add_subjects(seen, seen["correct"])
    assert _auroc(test, fitted.predict_proba(test)[:, 1]) >= _auroc(test, test["p_true"]) - 0.03
    error = np.abs(fitted.abilities(["s011"])["ability"].to_numpy() - data.theta.loc["s011"].to_numpy()).mean()
    assert error < 0.35


def test_adaptive_selection_beats_random_items(world):
    data, rows, model, old_items, _ = world
    pool = data.battery[data.battery["instance_id"].isin(old_items)].reset_index(drop=True)
    errors = {"adaptive": [], "random": []}
    for n, subject in enumerate(NEWCOMERS):
        outcomes = rows[rows["subject"] == subject].set_index("instance_id")["correct"]
        for strategy in errors:
            learner = copy.deepcopy(model)
            rng = np.random.default_rng(n)
            asked: list[str] = []
            for _ in range(4):
                remaining = pool[~pool["instance_id"].isin(asked)]
                if strategy == "adaptive":
                    picked = learner.next_items(subject, remaining.assign(subject=subject), 10)["instance_id"]
                else:
                    picked = remaining["instance_id"].iloc[rng.choice(len(remaining), 10, replace=False)]
                asked += list(picked)
                answered = pool[pool["instance_id"].isin(asked)].assign(subject=subject)
                learner.add_subjects(answered, outcomes.loc[answered["instance_id"]].to_numpy(), replace=True)
            estimate = learner.abilities([subject]).set_index("scale")["ability"]
            estimate = estimate.fillna(pd.Series(learner.theta_mean_, index=learner.scales_))
            errors[strategy].append(np.abs(estimate.to_numpy() - data.theta.loc[subject].to_numpy()).mean())
    assert np.mean(errors["adaptive"]) < np.mean(errors["random"])


def test_cold_start_next_items_spread_over_scales(world):
    data, _, model, _, new_items = world
    candidates = data.battery[data.battery["instance_id"].isin(new_items)]
    picked = model.next_items("brand-new", candidates, 12)
    assert list(picked["rank"]) == list(range(1, 13)) and picked["instance_id"].is_unique
    assert (picked["information_gain"].diff().dropna() <= 1e-12).all()  # greedy gains only shrink
    demanded = (picked[list(SCALES6)] > 0).any(axis=0)
    assert demanded.sum() >= 5


def test_graded_outcomes_as_binomial_counts():
    data = conjunctive_battery(SCALES[:4], n_subjects=6, n_items=500, seed=5)
    rng = np.random.default_rng(5)
    rows = join(data.battery, data.outcomes)
    index = {s: j for j, s in enumerate(data.theta.index)}
    p = irt.probability(rows["subject"].map(index).to_numpy(), np.array([int(i.split("/")[1]) for i in rows["instance_id"]]),
                        irt.Items(data.battery[list(SCALES[:4])].to_numpy(), irt.guess_floor(data.battery["UG"])),
                        data.params)
    graded = rows.assign(trials=5, successes=rng.binomial(5, p))
    model = IRTAssessor(scales=SCALES[:4]).fit(graded)  # counts from the columns, no y needed
    error = np.abs(model.theta_ - data.theta.loc[model.subjects_].to_numpy()).mean()
    binary = IRTAssessor(scales=SCALES[:4]).fit(rows, rows["correct"])
    assert error < np.abs(binary.theta_ - data.theta.loc[binary.subjects_].to_numpy()).mean()
    assert model.evidence_.max() > len(data.battery)  # five trials per outcome count as evidence
    scored = IRTAssessor(scales=SCALES[:4], max_iter=50).fit(rows, graded["successes"] / 5)  # scores in [0, 1]
    assert np.isfinite(scored.theta_).all()


def test_scikit_learn_contract():
    model = IRTAssessor(form="compensatory", residual="none")
    twin = clone(model)
    assert twin.get_params()["form"] == "compensatory" and twin.get_params()["residual"] == "none"
    assert twin.set_params(theta_prior_sd=0.5).theta_prior_sd == 0.5


def test_save_and_load_round_trip_without_pickle(world, tmp_path):
    data, rows, model, _, new_items = world
    target = save(model, tmp_path / "irt")
    restored = load(target)
    test = rows[rows["instance_id"].isin(new_items) & rows["subject"].isin(POPULATION[:3])]
    np.testing.assert_allclose(restored.predict_proba(test), model.predict_proba(test))
    candidates = data.battery[data.battery["instance_id"].isin(new_items)]
    pd.testing.assert_frame_equal(restored.next_items("s001", candidates, 5), model.next_items("s001", candidates, 5))
    with np.load(target / "irt.npz", allow_pickle=False) as arrays:
        assert set(arrays.files) >= {"theta", "residual", "precision"}
    assert restored.get_params() == model.get_params() | {"scales": list(model.scales), "rubrics": []}


def test_item_slopes_and_estimated_residual_sd_survive_save_and_load(tmp_path):
    data = conjunctive_battery(SCALES[:2], n_subjects=30, n_items=150, seed=3, base=1.5, residual_sd=1.0,
                               per_item=(1, 2))
    rows = join(data.battery, data.outcomes)
    model = IRTAssessor(scales=SCALES[:2], item_slopes=True, item_slope_prior_sd=0.8).fit(rows, rows["correct"])
    assert model.residual == "empirical_bayes" and 0.5 < model.residual_sd_ < 2.0
    assert model.item_slope_.std() > 0.01 and (model.residual_spread_ > 0).all()
    restored = load(save(model, tmp_path / "slopes"))
    assert restored.get_params() == model.get_params() | {"scales": list(model.scales), "rubrics": []}
    assert restored.residual_sd_ == model.residual_sd_
    np.testing.assert_allclose(restored.item_slope_, model.item_slope_)
    np.testing.assert_allclose(restored.predict_proba(rows.head(50)), model.predict_proba(rows.head(50)))
    # a new item integrates over the fitted residual distribution: flatter than its point prediction
    fresh = rows.head(50).assign(instance_id="never-seen")
    spread_out = model.predict_proba(fresh)[:, 1]
    point = copy.deepcopy(model)
    point.residual_sd_ = 0.0
    assert np.abs(spread_out - 0.5).mean() < np.abs(point.predict_proba(fresh)[:, 1] - 0.5).mean()


def test_bad_input_gives_located_errors(world):
    _, rows, model, _, _ = world
    sample = rows.head(40).copy()
    broken = sample.copy()
    broken.loc[broken.index[7], "MCt"] = np.nan
    with pytest.raises(InputError, match=r"row 8.*instance 'syn/7'.*column 'MCt'"):
        IRTAssessor(scales=SCALES6).fit(broken, broken["correct"])
    with pytest.raises(InputError, match="y must be 0/1 or a score"):
        IRTAssessor(scales=SCALES6).fit(sample, np.full(len(sample), 2.0))
    with pytest.raises(InputError, match="second outcome"):
        doubled = pd.concat([sample, sample.head(1)], ignore_index=True)
        IRTAssessor(scales=SCALES6).fit(doubled, doubled["correct"])
    with pytest.raises(InputError, match="form must be one of"):
        IRTAssessor(form="additive").fit(sample, sample["correct"])
    with pytest.raises(InputError, match="theta_prior_sd must be a positive number"):
        IRTAssessor(theta_prior_sd=-1).fit(sample, sample["correct"])
    with pytest.raises(InputError, match="item_slopes must be True or False"):
        IRTAssessor(item_slopes="yes").fit(sample, sample["correct"])
    with pytest.raises(InputError, match="residual must be one of"):
        IRTAssessor(residual="bayes").fit(sample, sample["correct"])
    with pytest.raises(InputError, match="unguessability column"):
        IRTAssessor(scales=["QLl", "UG"]).fit(sample, sample["correct"])
    with pytest.raises(InputError, match="needs level column"):
        model.predict_proba(sample.drop(columns="CEc"))
    with pytest.raises(InputError, match="k must be a positive integer"):
        model.next_items("s000", sample, 0)
    bad_ug = sample.assign(UG=150.0)
    with pytest.raises(InputError, match=r"unguessability must be a number in 0-100.*|column 'UG'"):
        model.predict_proba(bad_ug)


def test_default_scales_come_from_the_active_scale_set(tmp_path):
    """The PLn example: scales=None fits every level scale of the set the rubrics folders make."""
    example = Path(__file__).resolve().parents[1] / "examples" / "scales"
    scale_set = load_scale_set([example / "rubrics"])
    battery = validate_battery(pd.read_csv(example / "battery.csv"), "battery.csv", scale_set)
    rows = join(battery, pd.read_csv(example / "outcomes.csv"))
    model = IRTAssessor(rubrics=[str(example / "rubrics")], max_iter=50).fit(rows, rows["correct"])
    assert model.scales_ == list(scale_set.level_codes) and model.scales_[-1] == "PLn"
    assert "PLn" in model.profiles()["code-davinci-002-cot"] and set(model.abilities()["scale"]) >= {"PLn"}
    bundled = IRTAssessor(max_iter=50).fit(rows, rows["correct"])
    assert bundled.scales_ == list(default_scale_set().level_codes)  # PLn, not in the bundled set, is no scale
    assert make_assessor("irt", scale_set=scale_set).scales == list(scale_set.level_codes)
    restored = load(save(model, tmp_path / "irt"))
    assert restored.scales_ == model.scales_ and restored.get_params() == model.get_params() | {
        "rubrics": [str(example / "rubrics")]}
    np.testing.assert_allclose(restored.predict_proba(rows), model.predict_proba(rows))
    with pytest.raises(InputError, match="rubric directory not found"):
        IRTAssessor(rubrics=[str(tmp_path / "nowhere")]).fit(rows, rows["correct"])
