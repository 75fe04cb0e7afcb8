"""Demand-profile measures on hand-computed batteries, and expected accuracy from a subject's curves."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from assess.battery import validate_battery
from assess.demand_ability import expected_accuracies, expected_accuracy, predicted_success
from assess.demands import DemandProfile, demand_profile, normalised_entropy, parse_intended
from assess.errors import InputError
from tests.conftest import synthetic_battery, synthetic_outcomes

NAN = float("nan")
SCALES3 = ("QLq", "KNf", "UG")


@pytest.fixture
def small() -> pd.DataFrame:
    rows = [  # id, task, QLq, KNf, UG
        ("a1", "a", 3, 1, 80), ("a2", "a", 3, 2, 90), ("a3", "a", 1, 1, NAN), ("a4", "a", NAN, 4, 99),
        ("b1", "b", 0, 0, 20), ("b2", "b", 2.5, 0, 50), ("b3", "b", 4, 1, 100),
    ]
    return validate_battery(pd.DataFrame(rows, columns=["instance_id", "task", "QLq", "KNf", "UG"]))


def _row(profile: DemandProfile, group: str, scale: str):
    return next(r for r in profile.rows if r.group == group and r.scale == scale)


def test_level_distribution_mean_sd_and_missing_counts(small):
    profile = demand_profile(small, "task", scales=SCALES3)
    qlq = _row(profile, "a", "QLq")
    assert (qlq.n_instances, qlq.n_annotated, qlq.n_missing) == (4, 3, 1)
    assert qlq.counts == [0, 1, 0, 2, 0, 0]
    assert qlq.shares == pytest.approx([0, 1 / 3, 0, 2 / 3, 0, 0])
    assert qlq.mean == pytest.approx(7 / 3) and qlq.sd == pytest.approx(math.sqrt(8 / 9))
    assert _row(profile, "b", "QLq").counts == [1, 0, 0, 1, 1, 0]  # 2.5 goes up to 3


def test_ug_goes_into_the_rubric_bands_and_has_no_demand_share(small):
    profile = demand_profile(small, "task", scales=SCALES3)
    ug_a, ug_b = _row(profile, "a", "UG"), _row(profile, "b", "UG")
    assert ug_a.counts == [0, 0, 0, 1, 1, 1] and ug_a.n_missing == 1  # 80, 90, 99
    assert ug_b.counts == [1, 0, 1, 0, 0, 1]  # 20, 50, 100
    assert ug_a.mean == pytest.approx((80 + 90 + 99) / 3)
    assert ug_a.dominant_share is None and ug_a.demand_share is None


def test_dominant_and_demand_shares(small):
    profile = demand_profile(small, "task", scales=SCALES3)
    assert _row(profile, "a", "QLq").dominant_share == 1.0  # a1, a2 higher; a3 tied
    assert _row(profile, "a", "KNf").dominant_share == 0.25  # a3 tied; a4 has no other demand: not counted
    assert _row(profile, "a", "QLq").demand_share == pytest.approx(7 / 15)
    assert _row(profile, "a", "KNf").demand_share == pytest.approx(8 / 15)


def test_sensitivity_is_normalised_entropy_and_span_counts_levels(small):
    profile = demand_profile(small, "task", scales=SCALES3)
    qlq = _row(profile, "a", "QLq")
    expected = -(1 / 3 * math.log(1 / 3) + 2 / 3 * math.log(2 / 3)) / math.log(6)
    assert qlq.sensitivity == pytest.approx(expected) and qlq.span == 2
    assert normalised_entropy(np.array([5, 0, 0, 0, 0, 0])) == 0.0
    assert normalised_entropy(np.ones(6)) == pytest.approx(1.0)


def test_specificity_with_given_and_derived_intended_scales(small):
    profile = demand_profile(small, "task", scales=SCALES3, intended={"a": ["QLq"]})
    a, b = profile.groups
    assert (a.intended, a.intended_source, a.specificity) == (["QLq"], "given", pytest.approx(7 / 15))
    # b: QLq dominant on 3/3, KNf on 1/3 (< half of the top): only QLq is derived as intended
    assert (b.intended, b.intended_source) == (["QLq"], "derived")
    assert b.specificity == pytest.approx(6.5 / 7.5)
    assert (a.n_instances, a.n_annotated) == (4, 4)
    assert _row(profile, "a", "QLq").intended and not _row(profile, "a", "KNf").intended


def test_table_and_json_round_trip(small):
    profile = demand_profile(small, "task", scales=SCALES3)
    table = profile.table()
    assert len(table) == 2 * 3 and {"count_0", "share_5", "specificity", "n_missing"} <= set(table.columns)
    again = DemandProfile.model_validate_json(profile.model_dump_json())
    assert again == profile and again.schema_version == "2" and again.kind == "demand_profile"
    assert profile.kinds == {"QLq": "level", "KNf": "level", "UG": "percentage"} and list(profile.bands) == ["UG"]
    assert set(table.loc[table["scale"] == "UG", "kind"]) == {"percentage"}


def test_unannotated_group_reports_missing_never_levels():
    battery = validate_battery(pd.DataFrame({"instance_id": ["x", "y"], "task": ["t", "t"]}))
    row = _row(demand_profile(battery, "task"), "t", "QLq")
    assert (row.n_annotated, row.n_missing, row.counts, row.mean, row.sensitivity) == (0, 2, [0] * 6, None, None)


def test_bad_groupings_and_intended_are_located(small):
    with pytest.raises(InputError, match="unknown grouping 'colour'"):
        demand_profile(small, "colour")
    with pytest.raises(InputError, match="intended scales given for unknown task"):
        demand_profile(small, "task", intended={"zzz": ["QLq"]})
    with pytest.raises(InputError, match="'AS'.*not analysed"):
        demand_profile(small, "task", scales=SCALES3, intended={"a": ["AS"]})
    with pytest.raises(InputError, match="--intended 'math'"):
        parse_intended(["math"])
    with pytest.raises(InputError, match="'QLx'.*not analysed level scales"):
        demand_profile(small, "task", scales=SCALES3, intended=parse_intended(["a=QLx"]))
    with pytest.raises(InputError, match="'UG'.*not analysed level scales"):
        demand_profile(small, "task", scales=SCALES3, intended={"a": ["UG"]})
    with pytest.raises(InputError, match="unknown scale code.*'QLx'"):
        demand_profile(small, "task", scales=("QLx",))
    assert parse_intended(["a=b=QLq, KNf"]) == {"a=b": ["QLq", "KNf"]}


CURVES = pd.DataFrame({"scale": ["QLq", "KNf"], "intercept": [2.0, 0.0], "slope": [-1.0, 0.0], "n": [50, 5]})


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_predicted_success_rules_by_hand():
    rows = pd.DataFrame({"QLq": [3.0, 0.0, 1.0], "KNf": [1.0, 0.0, NAN], "UG": [80.0, NAN, 100.0]})
    qlq3 = _sigmoid(-1.0)

    def predict(rule: str, guess: bool = False, min_n: int = 1) -> np.ndarray:
        return predicted_success(rows, CURVES, rule=rule, guess=guess, min_n=min_n)

    assert predict("dominant")[0] == pytest.approx(qlq3)
    assert predict("product")[0] == pytest.approx(qlq3 * 0.5)
    assert predict("min")[0] == pytest.approx(qlq3)
    nothing = (_sigmoid(2.0) + 0.5) / 2  # all levels 0: mean of the tied curves at 0, under every rule
    for rule in ("dominant", "product", "min"):
        assert predict(rule)[1] == pytest.approx(nothing)
    assert predict("product", min_n=10)[0] == pytest.approx(qlq3)  # KNf's curve (n=5) unused
    guessed = predict("dominant", guess=True)
    assert guessed[0] == pytest.approx(0.2 + 0.8 * qlq3)
    assert guessed[1] == pytest.approx(nothing)  # UG missing: no correction
    assert guessed[2] == pytest.approx(_sigmoid(1.0))  # UG 100: no chance


def test_predicted_success_without_a_usable_curve_is_nan():
    rows = pd.DataFrame({"QLq": [NAN], "KNf": [2.0]})
    assert np.isnan(predicted_success(rows, CURVES, min_n=10)[0])
    with pytest.raises(InputError, match="unknown rule"):
        predicted_success(rows, CURVES, rule="mean")


@pytest.fixture(scope="module")
def synthetic():
    battery = synthetic_battery(900, seed=3)
    return battery, synthetic_outcomes(battery, {"strong": 4.0, "weak": 1.5}, seed=3)


def test_expected_accuracy_tracks_the_actual_accuracy_of_a_new_task(synthetic):
    battery, outcomes = synthetic
    ids = battery.loc[battery["task"] == "task_0", "instance_id"]
    results = {}
    for subject in ("strong", "weak"):
        expectation, curves = expected_accuracy(battery, outcomes, subject, ids, group="task_0", bootstrap=40,
                                                rule="dominant", guess=False, min_n=1, anchored=False)
        assert expectation.n_train == 900 - len(ids) and expectation.n_predicted == len(ids) == expectation.n_actual
        assert expectation.ci_low <= expectation.predicted <= expectation.ci_high
        assert expectation.pi_low <= expectation.ci_low and expectation.pi_high >= expectation.ci_high
        assert abs(expectation.predicted - expectation.actual) < 0.1
        assert set(curves["scale"]) == set(battery.columns[6:24])
        results[subject] = expectation
    assert results["strong"].predicted > results["weak"].predicted + 0.2
    again, _ = expected_accuracy(battery, outcomes, "strong", ids, group="task_0", bootstrap=40,
                                 rule="dominant", guess=False, min_n=1, anchored=False)
    assert again == results["strong"]  # seeded


def test_expected_accuracies_per_group_and_a_subject_never_outside(synthetic):
    battery, outcomes = synthetic
    seen = []
    results, curves = expected_accuracies(battery, outcomes, ["strong"], "benchmark", bootstrap=0, progress=seen.append)
    assert [e.group for e in results] == ["bench_a", "bench_b"] and len(seen) == 2 and len(curves) == 2
    assert results[0].ci_low is None  # no bootstrap, no interval
    only_a = outcomes[outcomes["instance_id"].isin(battery.loc[battery["benchmark"] == "bench_a", "instance_id"])]
    results, curves = expected_accuracies(battery, only_a, ["strong"], "benchmark", bootstrap=0)
    assert results[0].n_train == 0 and results[0].predicted is None and results[0].actual is not None
    assert results[1].predicted is not None and list(curves) == [("strong", "bench_b")]
    results, _ = expected_accuracies(battery, outcomes, ["strong"], "benchmark", bootstrap=0, min_n=10_000)
    assert results[0].n_train > 0 and results[0].n_predicted == 0 and results[0].predicted is None  # no usable curve
    with pytest.raises(InputError, match="subject 'nobody' has no outcomes"):
        expected_accuracies(battery, outcomes, ["nobody"], "benchmark")
    with pytest.raises(InputError, match="unknown benchmark"):
        expected_accuracies(battery, outcomes, ["strong"], "benchmark", groups=["bench_z"])


def test_anchored_expectation_moves_the_training_accuracy_by_the_predicted_difference(synthetic):
    battery, outcomes = synthetic
    ids = battery.loc[battery["task"] == "task_1", "instance_id"]
    options = {"rule": "min", "guess": True, "min_n": 30}
    plain, curves = expected_accuracy(battery, outcomes, "weak", ids, bootstrap=0, anchored=False, **options)
    anchored, _ = expected_accuracy(battery, outcomes, "weak", ids, bootstrap=30, anchored=True, **options)
    mine = outcomes[(outcomes["subject"] == "weak") & ~outcomes["instance_id"].isin(ids)]
    train_rows = battery.set_index("instance_id").loc[mine["instance_id"]].reset_index()
    shift = mine["correct"].mean() - np.nanmean(predicted_success(train_rows, curves, **options))
    on_task = predicted_success(battery[battery["instance_id"].isin(ids)], curves, **options)
    assert plain.predicted == pytest.approx(on_task.mean())
    assert anchored.predicted == pytest.approx(np.clip(on_task + shift, 0, 1).mean())
    assert anchored.ci_low <= anchored.predicted <= anchored.ci_high
    assert abs(anchored.predicted - anchored.actual) < abs(plain.predicted - plain.actual)  # guessing bias removed
