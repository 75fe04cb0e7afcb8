"""Metrics against hand-computed values."""
import numpy as np
import pytest

from predictors.metrics import accuracy_rejection_curve, auarc, auroc, brier, calibration_table, ece, \
    predictably_valid_share, score


def test_ece_is_bin_mass_weighted_gap():
    y = np.array([1, 0, 1, 1])
    p = np.array([0.05, 0.05, 0.95, 0.75])
    # bin 0: mean p 0.05, observed 0.5, mass 1/2; bin 9: 0.95 vs 1, mass 1/4; bin 7: 0.75 vs 1, mass 1/4
    expected = 0.5 * 0.45 + 0.25 * 0.05 + 0.25 * 0.25
    assert ece(y, p) == pytest.approx(expected)
    table = calibration_table(y, p)
    assert table["count"].sum() == 4 and table.loc[0, "observed"] == 0.5


def test_probability_one_falls_in_last_bin():
    assert calibration_table(np.array([1]), np.array([1.0]))["count"].iloc[-1] == 1


def test_accuracy_rejection_keeps_most_confident_first():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.45, 0.6])  # right, right, wrong, wrong; confidence order 0.9, 0.2, 0.6, 0.45
    kept, acc = accuracy_rejection_curve(y, p)
    assert kept.tolist() == [0.25, 0.5, 0.75, 1.0]
    assert acc.tolist() == pytest.approx([1.0, 1.0, 2 / 3, 0.5])
    assert auarc(y, p) == pytest.approx(np.mean([1.0, 1.0, 2 / 3, 0.5]))
    assert predictably_valid_share(y, p, tolerance=0.0) == 0.5
    assert predictably_valid_share(y, p, tolerance=0.4) == 0.75
    assert predictably_valid_share(np.array([1]), np.array([0.1]), tolerance=0.1) == 0.0


def test_score_has_every_metric_and_single_class_auroc_is_nan():
    y = np.array([0, 1, 1, 0])
    p = np.array([0.1, 0.8, 0.7, 0.3])
    result = score(y, p)
    assert result["auroc"] == 1.0 and result["accuracy"] == 1.0
    assert result["brier"] == pytest.approx(brier(y, p)) == pytest.approx((0.01 + 0.04 + 0.09 + 0.09) / 4)
    assert np.isnan(auroc(np.ones(3), np.array([0.1, 0.5, 0.9])))
