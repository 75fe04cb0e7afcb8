"""The fast batched fit against a plain per-scale scikit-learn implementation of the published method."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assess.abilities import ability_table, dominant_mask, profiles
from assess.scales import SCALES
from conftest import synthetic_battery, synthetic_outcomes
from reference_abilities import reference_ability, reference_profile


def test_fast_path_matches_sklearn_reference(battery, outcomes):
    table = ability_table(battery, outcomes)
    for subject in ("strong", "weak"):
        expected = reference_profile(battery, outcomes, subject)
        got = table[table["subject"] == subject].set_index("scale")["ability"]
        for scale in SCALES:
            assert got[scale] == pytest.approx(expected[scale], abs=1e-3), (subject, scale)


def test_fast_path_matches_reference_on_skewed_level_counts():
    """Bins below and above 100 instances, fractional (median) levels, no dominance filter."""
    rng = np.random.default_rng(3)
    levels = np.concatenate([np.full(400, 0.0), np.full(250, 1.0), np.full(60, 2.5), np.full(30, 4.0), np.full(5, 5.0)])
    correct = (rng.random(len(levels)) < 1 / (1 + np.exp(levels - 2))).astype(int)
    battery = pd.DataFrame({"instance_id": [f"i{k}" for k in range(len(levels))]})
    for scale in SCALES:
        battery[scale] = np.nan
    battery["QLq"] = levels
    outcomes = pd.DataFrame({"subject": "s", "instance_id": battery["instance_id"], "correct": correct})
    table = ability_table(battery, outcomes, scales=("QLq",), dominant_only=False)
    assert table["ability"].iloc[0] == pytest.approx(reference_ability(levels, correct), abs=1e-3)


def test_ability_is_where_a_steep_curve_crosses_half():
    levels = np.repeat(np.arange(6.0), 400)
    correct = (levels < 3).astype(int)  # succeeds up to level 2, fails from 3
    battery = pd.DataFrame({"instance_id": [f"i{k}" for k in range(len(levels))], "QLl": levels})
    outcomes = pd.DataFrame({"subject": "s", "instance_id": battery["instance_id"], "correct": correct})
    ability = ability_table(battery, outcomes, scales=("QLl",), dominant_only=False)["ability"].iloc[0]
    assert 2.3 < ability < 3.2


def test_stronger_subject_has_higher_abilities(battery, outcomes):
    wide = ability_table(battery, outcomes).pivot(index="scale", columns="subject", values="ability")
    assert (wide["strong"] > wide["weak"] + 1).all()


def test_bootstrap_interval_brackets_estimate_and_is_seeded(battery, outcomes):
    first = ability_table(battery, outcomes, bootstrap=100, seed=7)
    again = ability_table(battery, outcomes, bootstrap=100, seed=7)
    pd.testing.assert_frame_equal(first, again)
    assert (first["ci_low"] <= first["ability"] + 1e-9).all() and (first["ability"] <= first["ci_high"] + 1e-9).all()
    assert (first["ci_high"] - first["ci_low"] > 0).all()


def test_dominance_filter_counts_ties_and_skips_missing():
    demands = np.array([[3, 3, 1], [np.nan, 2, 4], [0, 0, 0]], dtype=float)
    mask = dominant_mask(demands)
    assert mask.tolist() == [[True, True, False], [False, False, True], [True, True, True]]


def test_missing_annotations_are_excluded_not_defaulted():
    battery = synthetic_battery(300)
    battery.loc[:149, "QLq"] = np.nan
    outcomes = synthetic_outcomes(battery, {"s": 3.0})
    table = ability_table(battery, outcomes, dominant_only=False).set_index("scale")
    assert table.loc["QLq", "n"] == 150 and table.loc["QLl", "n"] == 300


def test_empirical_points_count_every_used_instance(battery, outcomes):
    table, empirical = profiles(battery, outcomes, ["weak"])
    per_scale = empirical.groupby("scale")["n"].sum()
    assert (per_scale.loc[list(SCALES)].to_numpy() == table.set_index("scale").loc[list(SCALES), "n"].to_numpy()).all()
    assert ((empirical["rate"] >= 0) & (empirical["rate"] <= 1)).all()


def test_subject_without_instances_on_a_scale_gets_nan():
    battery = synthetic_battery(50)
    battery["AT"] = np.nan
    outcomes = synthetic_outcomes(battery, {"s": 3.0})
    row = ability_table(battery, outcomes).set_index("scale").loc["AT"]
    assert row["n"] == 0 and np.isnan(row["ability"])


def test_subject_failing_everything_has_ability_zero():
    battery = pd.DataFrame({"instance_id": [f"i{k}" for k in range(300)], "QLq": np.repeat(np.arange(3.0), 100)})
    outcomes = pd.DataFrame({"subject": "s", "instance_id": battery["instance_id"], "correct": 0})
    table = ability_table(battery, outcomes, scales=("QLq",), dominant_only=False, bootstrap=20)
    assert table["ability"].iloc[0] == pytest.approx(0, abs=1e-6)
    assert table["ci_high"].iloc[0] == pytest.approx(0, abs=1e-6)


def test_half_levels_round_up_into_bins():
    """Levels 0.5, 1.5, 2.5, 3.5 fall in bins 1, 2, 3, 4: equal bins, equal weights (no round-half-to-even)."""
    from assess.abilities import balancing_weights

    levels = np.array([0.5, 1.5, 2.5, 3.5])
    weights, full = balancing_weights(np.full((1, 4), 50.0), levels)
    assert weights.tolist() == [[1.0, 1.0, 1.0, 1.0]] and full.tolist() == [100.0]


def test_bootstrap_interval_of_a_subject_does_not_depend_on_the_others(battery, outcomes):
    both = ability_table(battery, outcomes, ["strong", "weak"], bootstrap=50, seed=3).set_index(["subject", "scale"])
    alone = ability_table(battery, outcomes, ["weak"], bootstrap=50, seed=3).set_index(["subject", "scale"])
    pd.testing.assert_frame_equal(both.loc[["weak"]], alone)
