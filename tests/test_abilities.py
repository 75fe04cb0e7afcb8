"""The batched SCC fit against the published method written the plain way (tests/reference_abilities.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assess.abilities import (GRID_STEP, _grid_of, ability_table, balancing_weights, binomial_counts, dominant_mask,
                              profiles)
from assess.scales import SCALES
from conftest import synthetic_battery, synthetic_outcomes
from reference_abilities import published_weights, reference_ability, reference_profile


def adele_layout_battery(n: int = 2500, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An ADeLe v1.0-style battery built apart from the fixtures: integer levels, skewed bins, UG spread
    around the threshold with some missing, and three subjects with different thresholds."""
    rng = np.random.default_rng(seed)
    levels = rng.choice(6, size=(n, len(SCALES)), p=[0.45, 0.25, 0.14, 0.09, 0.05, 0.02]).astype(float)
    levels[rng.random(levels.shape) < 0.03] = np.nan
    battery = pd.DataFrame(levels, columns=list(SCALES))
    battery.insert(0, "instance_id", [f"adele/{i}" for i in range(n)])
    battery["UG"] = rng.choice([25, 50, 75, 90, 100, np.nan], size=n, p=[0.1, 0.15, 0.2, 0.25, 0.25, 0.05])
    hardest = np.nanmax(levels, axis=1)
    frames = []
    for subject, midpoint in {"s_low": 1.2, "s_mid": 2.7, "s_high": 4.1}.items():
        p = 1 / (1 + np.exp(-1.5 * (midpoint - hardest)))
        frames.append(pd.DataFrame({"subject": subject, "instance_id": battery["instance_id"],
                                    "correct": (rng.random(n) < p).astype(int)}))
    return battery, pd.concat(frames, ignore_index=True)


def _abilities(table: pd.DataFrame, subject: str) -> pd.Series:
    return table[table["subject"] == subject].set_index("scale")["ability"]


@pytest.mark.parametrize("tol, bound", [(1e-10, 1e-3), (1e-4, 0.05)])
def test_matches_published_code_on_an_adele_layout_battery(tol, bound):
    """tol 1e-10: the optimum itself; tol 1e-4: sklearn's default, i.e. what the toolkit prints."""
    battery, outcomes = adele_layout_battery()
    table = ability_table(battery, outcomes)
    compared = 0
    for subject in ("s_low", "s_mid", "s_high"):
        expected = reference_profile(battery, outcomes, subject, tol=tol)
        got = _abilities(table, subject)
        for scale in SCALES:
            if np.isnan(expected[scale]):
                assert np.isnan(got[scale]), (subject, scale)
                continue
            assert got[scale] == pytest.approx(expected[scale], abs=bound), (subject, scale)
            compared += 1
    assert compared >= 45


def test_fast_path_matches_reference_on_the_fixture_battery(battery, outcomes):
    table = ability_table(battery, outcomes)
    for subject in ("strong", "weak"):
        expected = reference_profile(battery, outcomes, subject, tol=1e-10)
        got = _abilities(table, subject)
        for scale in SCALES:
            assert got[scale] == pytest.approx(expected[scale], abs=1e-3), (subject, scale)


def test_level_diff_widens_the_dominance_filter():
    battery, outcomes = adele_layout_battery(seed=5)
    strict = ability_table(battery, outcomes, ["s_mid"]).set_index("scale")
    loose = ability_table(battery, outcomes, ["s_mid"], level_diff=1).set_index("scale")
    assert (loose["n"] >= strict["n"]).all() and (loose["n"] > strict["n"]).any()
    expected = reference_profile(battery, outcomes, "s_mid", level_diff=1, tol=1e-10)
    for scale in SCALES:
        assert loose.loc[scale, "ability"] == pytest.approx(expected[scale], abs=1e-3)


def test_weights_follow_the_published_steps_by_hand():
    """Bins 1:200, 2:150, 3:50, 4:0, 5:10 → large bins 1 and 2 get 200 each (E = 400), T = 400 / (1 - 60/410)."""
    levels = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    counts = np.array([[70.0, 200.0, 150.0, 50.0, 0.0, 10.0]])
    weights, anchor, anchored = balancing_weights(counts, levels)
    share_total = 400 / (1 - 60 / 410)
    small_weight = share_total / 410  # (count / total * T) / count
    assert weights[0] == pytest.approx([0.0, 1.0, 200 / 150, small_weight, 0.0, small_weight])
    assert anchor[0] == pytest.approx(400 + 60 * small_weight) and anchored[0]
    rows = np.repeat(levels, counts[0].astype(int))
    plain, plain_anchor = published_weights(rows)
    assert plain_anchor == pytest.approx(anchor[0])
    assert plain[rows == 3.0][0] == pytest.approx(small_weight)


def test_without_a_full_bin_targets_are_shares_summing_to_one():
    weights, anchor, _ = balancing_weights(np.array([[0.0, 10.0, 30.0]]), np.array([0.0, 1.0, 2.0]))
    assert weights[0].tolist() == pytest.approx([0.0, 1 / 40, 1 / 40]) and anchor[0] == 1.0


def test_fractional_levels_weigh_nothing_unless_rounded():
    weights, _, _ = balancing_weights(np.array([[20.0, 20.0]]), np.array([2.0, 2.5]))
    assert weights[0, 1] == 0.0 and weights[0, 0] > 0
    rng = np.random.default_rng(0)
    levels = rng.choice([1.0, 1.5, 2.5, 3.0, 3.5], size=400)
    battery = pd.DataFrame({"instance_id": [f"i{k}" for k in range(400)], "QLq": levels})
    outcomes = pd.DataFrame({"subject": "s", "instance_id": battery["instance_id"],
                             "correct": (rng.random(400) < 1 / (1 + np.exp(levels - 2.5))).astype(int)})
    exact = ability_table(battery, outcomes, scales=("QLq",), dominance_scales=("QLq",))["ability"].iloc[0]
    rounded = ability_table(battery, outcomes, scales=("QLq",), dominance_scales=("QLq",),
                            round_levels=True)["ability"].iloc[0]
    assert exact == pytest.approx(reference_ability(levels, outcomes["correct"].to_numpy(), tol=1e-10), abs=1e-3)
    rounded_levels = np.floor(levels + 0.5)
    assert rounded == pytest.approx(reference_ability(rounded_levels, outcomes["correct"].to_numpy(), tol=1e-10),
                                    abs=1e-3)
    assert abs(exact - rounded) > 1e-3


def test_unguessability_filter_drops_low_and_missing_and_counts_them():
    battery = synthetic_battery(400)
    battery.loc[:99, "UG"] = 50.0
    battery.loc[100:149, "UG"] = np.nan
    outcomes = synthetic_outcomes(battery, {"s": 3.0})
    table = ability_table(battery, outcomes).set_index("scale")
    unfiltered = ability_table(battery, outcomes, min_ug=0).set_index("scale")
    assert (table["excluded_low_ug"] == 100).all() and (table["excluded_missing_ug"] == 50).all()
    assert table["n"].sum() < unfiltered["n"].sum()
    no_column = ability_table(battery.drop(columns="UG"), outcomes).set_index("scale")
    assert (no_column["excluded_low_ug"] == 0).all() and (no_column["excluded_missing_ug"] == 0).all()


def test_dominance_filter_skips_missing_and_needs_another_demand():
    demands = np.array([[3, 3, 1], [np.nan, 2, 4], [0, 0, 0], [np.nan, np.nan, 2], [2, 4, 3]], dtype=float)
    assert dominant_mask(demands).tolist() == [[True, True, False], [False, False, True], [True, True, True],
                                               [False, False, False], [False, True, False]]
    assert dominant_mask(demands, level_diff=1).tolist()[4] == [False, True, True]


def test_without_instances_in_bins_one_to_five_the_fit_is_unweighted_and_unanchored():
    battery = pd.DataFrame({"instance_id": [f"i{k}" for k in range(50)], "QLq": 0.0})
    correct = (np.arange(50) % 5 == 0).astype(int)  # 20 % success, all at level 0
    outcomes = pd.DataFrame({"subject": "s", "instance_id": battery["instance_id"], "correct": correct})
    ability = ability_table(battery, outcomes, scales=("QLq",), dominance_scales=("QLq",))["ability"].iloc[0]
    assert ability == pytest.approx(reference_ability(np.zeros(50), correct, tol=1e-10), abs=1e-3)
    assert ability == pytest.approx(20.0, abs=1e-3)  # the toolkit's AUC of a flat 20 % curve over 0–100


@pytest.mark.parametrize("levels, value", [(np.repeat(np.arange(3.0), 100), 0), (np.zeros(40), 1)])
def test_fits_the_toolkit_cannot_make_score_zero(levels, value):
    """All failures (anchored), or one class without an anchor: sklearn raises and the toolkit scores 0."""
    battery = pd.DataFrame({"instance_id": [f"i{k}" for k in range(len(levels))], "QLq": levels})
    outcomes = pd.DataFrame({"subject": "s", "instance_id": battery["instance_id"], "correct": value})
    table = ability_table(battery, outcomes, scales=("QLq",), dominance_scales=("QLq",), bootstrap=20)
    assert table["ability"].iloc[0] == 0.0 and table["ci_high"].iloc[0] == 0.0
    assert reference_ability(levels, np.full(len(levels), value)) == 0.0


def test_ability_is_where_a_steep_curve_crosses_half():
    levels = np.repeat(np.arange(6.0), 400)
    battery = pd.DataFrame({"instance_id": [f"i{k}" for k in range(len(levels))], "QLl": levels})
    outcomes = pd.DataFrame({"subject": "s", "instance_id": battery["instance_id"], "correct": (levels < 3).astype(int)})
    ability = ability_table(battery, outcomes, dominant_only=False)["ability"].iloc[0]
    assert 2.3 < ability < 3.2


def test_successes_and_trials_fit_as_expanded_bernoulli_rows():
    rng = np.random.default_rng(4)
    levels = rng.integers(1, 6, 120).astype(float)
    trials = rng.integers(1, 6, 120)
    successes = rng.binomial(trials, 1 / (1 + np.exp(levels - 3)))
    battery = pd.DataFrame({"instance_id": [f"i{k}" for k in range(120)], "QLq": levels})
    graded = pd.DataFrame({"subject": "s", "instance_id": battery["instance_id"], "successes": successes,
                           "trials": trials, "correct": successes / trials})
    got = ability_table(battery, graded, dominance_scales=("QLq",))["ability"].iloc[0]
    expanded_levels = np.repeat(levels, trials)
    expanded = np.concatenate([np.r_[np.ones(s), np.zeros(t - s)] for s, t in zip(successes, trials)])
    assert got == pytest.approx(reference_ability(expanded_levels, expanded, tol=1e-10), abs=1e-3)
    assert binomial_counts(graded)[1].sum() == trials.sum()


def test_ten_of_ten_weigh_more_than_one_of_one():
    levels = np.r_[np.repeat([1.0, 2.0, 3.0], 30), 4.0]
    battery = pd.DataFrame({"instance_id": [f"i{k}" for k in range(len(levels))], "QLq": levels})
    base = (np.arange(len(levels)) % 3 == 0).astype(float)

    def ability(successes: float, trials: float) -> float:
        s, t = base.copy(), np.ones(len(levels))
        s[-1], t[-1] = successes, trials
        outcomes = pd.DataFrame({"subject": "s", "instance_id": battery["instance_id"], "successes": s, "trials": t})
        return ability_table(battery, outcomes, dominance_scales=("QLq",))["ability"].iloc[0]

    assert ability(10, 10) > ability(1, 1) + 0.05


def test_bootstrap_is_seeded_brackets_and_does_not_depend_on_other_subjects(battery, outcomes):
    first = ability_table(battery, outcomes, bootstrap=100, seed=7)
    pd.testing.assert_frame_equal(first, ability_table(battery, outcomes, bootstrap=100, seed=7))
    assert (first["ci_low"] <= first["ability"] + 1e-9).all() and (first["ability"] <= first["ci_high"] + 1e-9).all()
    both = ability_table(battery, outcomes, ["strong", "weak"], bootstrap=50, seed=3).set_index(["subject", "scale"])
    alone = ability_table(battery, outcomes, ["weak"], bootstrap=50, seed=3).set_index(["subject", "scale"])
    pd.testing.assert_frame_equal(both.loc[["weak"]], alone)


def test_level_grid_is_capped_however_many_distinct_levels():
    levels = np.random.default_rng(1).uniform(0, 5, size=(20_000, 3)).round(6)
    quantised, grid = _grid_of(levels)
    assert len(grid) <= 5 / GRID_STEP + 1 and np.abs(quantised - levels).max() <= GRID_STEP / 2 + 1e-12


def test_missing_annotations_are_excluded_not_defaulted():
    battery = synthetic_battery(300)
    battery.loc[:149, "QLq"] = np.nan
    outcomes = synthetic_outcomes(battery, {"s": 3.0})
    table = ability_table(battery, outcomes, dominant_only=False).set_index("scale")
    assert table.loc["QLq", "n"] == 150 and table.loc["QLl", "n"] == 300


def test_empirical_points_count_every_used_instance(battery, outcomes):
    table, empirical = profiles(battery, outcomes, ["weak"])
    per_scale = empirical.groupby("scale")["n"].sum().reindex(list(SCALES), fill_value=0)
    assert (per_scale.to_numpy() == table.set_index("scale").loc[list(SCALES), "n"].to_numpy()).all()
    assert ((empirical["rate"] >= 0) & (empirical["rate"] <= 1)).all()


def test_scale_without_instances_gets_nan_not_zero():
    battery = synthetic_battery(50)
    battery["AT"] = np.nan
    row = ability_table(battery, synthetic_outcomes(battery, {"s": 3.0})).set_index("scale").loc["AT"]
    assert row["n"] == 0 and np.isnan(row["ability"])


def test_fitted_scales_can_be_a_subset_of_the_dominance_scales(battery, outcomes):
    full = ability_table(battery, outcomes, ["weak"]).set_index("scale")
    some = ability_table(battery, outcomes, ["weak"], scales=("QLq", "AS")).set_index("scale")
    pd.testing.assert_series_equal(some["ability"], full.loc[["QLq", "AS"], "ability"])
