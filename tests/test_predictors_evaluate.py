"""Evaluation protocols: the published in-distribution protocol and the OOD splits."""
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold

from assess.errors import InputError
from assess.scales import ANNOTATED
from predictors import DemandAssessor, MultiSubjectAssessor, evaluate
from predictors.metrics import auroc
from test_predictors_helpers import profiles_for, synthetic_battery, synthetic_outcomes

ABILITIES = {"weak": 1.5, "mid": 2.5, "strong": 3.5}


@pytest.fixture(scope="module")
def data():
    battery = synthetic_battery(180)
    return battery, synthetic_outcomes(battery, ABILITIES)


def test_in_distribution_is_the_published_protocol(data):
    battery, outcomes = data
    result = evaluate(DemandAssessor(), battery, outcomes, subjects=["mid"], seeds=(0, 1))
    rows = outcomes[outcomes["subject"] == "mid"].merge(battery, on="instance_id")
    X, y = rows[list(ANNOTATED)].to_numpy(), rows["correct"].to_numpy()
    aurocs = []
    for seed in (0, 1):
        pooled = np.empty(len(y))
        for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y):
            forest = RandomForestClassifier(100, min_samples_split=50, criterion="entropy", random_state=0)
            pooled[test] = forest.fit(X[train], y[train]).predict_proba(X[test])[:, 1]
        ours = result.predictions[result.predictions["seed"] == seed].set_index("instance_id")["p"]
        assert np.allclose(ours.loc[rows["instance_id"]].to_numpy(), pooled)
        aurocs.append(auroc(y, pooled))
    row = result.table.iloc[0]
    assert row["protocol"] == "in_distribution" and row["seeds"] == 2 and row["n"] == len(y)
    assert row["auroc"] == pytest.approx(np.mean(aurocs))


def test_task_and_benchmark_ood_hold_out_whole_groups(data):
    battery, outcomes = data
    result = evaluate(DemandAssessor(classifier="logistic"), battery, outcomes, subjects=["weak"],
                      protocols=("task_ood", "benchmark_ood"), n_splits=3)
    tasks = result.predictions.merge(battery[["instance_id", "task", "benchmark"]], on="instance_id")
    task_folds = tasks[tasks["protocol"] == "task_ood"].groupby("task")["fold"].nunique()
    assert (task_folds == 1).all() and tasks[tasks["protocol"] == "task_ood"]["fold"].nunique() == 3
    bench = tasks[tasks["protocol"] == "benchmark_ood"]
    assert bench.groupby("fold")["benchmark"].nunique().eq(1).all() and bench["fold"].nunique() == 2
    assert set(result.table["protocol"]) == {"task_ood", "benchmark_ood"}


def test_single_benchmark_subjects_are_skipped_and_listed(data):
    battery, outcomes = data
    only_a = outcomes[outcomes["instance_id"].isin(battery.loc[battery["benchmark"] == "bench_a", "instance_id"])]
    mixed = pd.concat([only_a[only_a["subject"] == "weak"], outcomes[outcomes["subject"] == "strong"]])
    result = evaluate(DemandAssessor(classifier="logistic"), battery, mixed, protocols=("benchmark_ood",))
    assert result.skipped.to_dict("records") == [
        {"protocol": "benchmark_ood", "subject": "weak", "reason": "only one benchmark value"}]
    assert result.table["subject"].tolist() == ["strong"]
    with pytest.raises(InputError, match="nothing to evaluate"):
        evaluate(DemandAssessor(), battery, only_a, subjects=["weak"], protocols=("benchmark_ood",))


def test_new_subject_profiles_come_from_training_instances_only(data):
    battery, outcomes = data
    seen_batteries = []

    def profile_fn(train_battery, train_outcomes):
        seen_batteries.append(set(train_battery["instance_id"]))
        assert set(train_outcomes["instance_id"]) <= seen_batteries[-1]
        return profiles_for(ABILITIES)

    multi = evaluate(MultiSubjectAssessor(), battery, outcomes, protocols=("new_subject",), n_splits=3,
                     profile_fn=profile_fn)
    assert len(seen_batteries) == 3
    for fold, group in multi.predictions.groupby("fold"):
        assert not set(group["instance_id"]) & seen_batteries[fold]
    assert sorted(multi.table["subject"]) == sorted(ABILITIES) and (multi.table["n"] == 180).all()
    pooled = evaluate(DemandAssessor(), battery, outcomes, protocols=("new_subject",), n_splits=3)
    assert multi.table["brier"].mean() < pooled.table["brier"].mean()
    with pytest.raises(InputError, match="needs profile_fn"):
        evaluate(MultiSubjectAssessor(), battery, outcomes, protocols=("new_subject",))


def test_summary_weights_by_subject_accuracy_and_parallel_matches_serial(data):
    battery, outcomes = data
    serial = evaluate(DemandAssessor(classifier="logistic"), battery, outcomes, n_jobs=1)
    parallel = evaluate(DemandAssessor(classifier="logistic"), battery, outcomes, n_jobs=2)
    key = ["subject", "instance_id"]
    assert np.allclose(serial.predictions.sort_values(key)["p"], parallel.predictions.sort_values(key)["p"])
    summary = serial.summary().set_index("aggregate")
    table = serial.table
    assert summary.loc["mean", "auroc"] == pytest.approx(table["auroc"].mean())
    expected = np.sum(table["auroc"] * table["success_rate"]) / table["success_rate"].sum()
    assert summary.loc["accuracy_weighted", "auroc"] == pytest.approx(expected)


def test_bad_requests_are_named(data):
    battery, outcomes = data
    with pytest.raises(InputError, match="unknown protocol\\(s\\) leave_one_out"):
        evaluate(DemandAssessor(), battery, outcomes, protocols=("leave_one_out",))
    with pytest.raises(InputError, match="no outcomes on this battery for subject\\(s\\) 'ghost'"):
        evaluate(DemandAssessor(), battery, outcomes, subjects=["ghost"])
    with pytest.raises(InputError, match="task_ood needs a 'family' column"):
        evaluate(DemandAssessor(), battery, outcomes, protocols=("task_ood",), task_column="family")
