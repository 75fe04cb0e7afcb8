"""Graded outcomes: scores in [0, 1] and k of n attempts, validated with located errors, profiled and learned from."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from assess.battery import validate_outcomes
from assess.cli import main
from assess.errors import InputError
from assess.scales import SCALES
from predictors import DemandAssessor

LEVELS = (1, 2, 3, 4, 5)
#: Items that succeed at each level, of 40.
SUCCEEDING = {1: 36, 2: 30, 3: 20, 4: 10, 5: 4}


def _battery() -> pd.DataFrame:
    """40 items per QLq level 1-5; every other scale at 0, so QLq is every item's highest demand."""
    rows = [{"instance_id": f"g/{level}/{i}", "prompt": f"q {level} {i}", **{s: 0.0 for s in SCALES},
             "QLq": float(level), "UG": 80.0} for level in LEVELS for i in range(40)]
    return pd.DataFrame(rows)


def _outcomes(heavy: int) -> pd.DataFrame:
    """Successes at levels 4 and 5 count ``heavy`` attempts (all successful); everything else is 1 attempt."""
    rows = []
    for level in LEVELS:
        for i in range(40):
            success = i < SUCCEEDING[level]
            trials = heavy if success and level >= 4 else 1
            rows.append({"subject": "m", "instance_id": f"g/{level}/{i}", "successes": trials if success else 0,
                         "trials": trials})
    return pd.DataFrame(rows)


@pytest.fixture
def workspace(tmp_path):
    _battery().to_csv(tmp_path / "battery.csv", index=False)
    return tmp_path


def _profile(folder, outcomes: pd.DataFrame, name: str) -> dict:
    outcomes.to_csv(folder / f"{name}.csv", index=False)
    config = {"subject": "m", "battery": "battery.csv", "outcomes": f"{name}.csv", "output_dir": name,
              "bootstrap": 0, "scales": ["QLq"]}
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(config))
    assert main(["profile", str(folder / f"{name}.yaml")]) == 0
    return json.loads((folder / name / "abilities.json").read_text())["scales"]["QLq"]


def test_ten_of_ten_weigh_more_than_one_of_one(workspace):
    single = _profile(workspace, _outcomes(heavy=1), "single")
    heavy = _profile(workspace, _outcomes(heavy=10), "heavy")
    as_scores = _profile(workspace, _outcomes(heavy=10).assign(correct=lambda d: d["successes"] / d["trials"])
                         .drop(columns=["successes", "trials"]), "scores")
    assert heavy["n"] == single["n"] == 200  # the same instances
    assert heavy["ability"] > single["ability"] + 0.1
    assert as_scores["ability"] == pytest.approx(single["ability"])  # a rate without its trials is one attempt
    level_five = pd.read_csv(workspace / "heavy" / "level_success.csv").query("level == 5").iloc[0]
    assert (level_five["n"], level_five["successes"]) == (4 * 10 + 36, 40)


@pytest.mark.parametrize(("rows", "message"), [
    ({"correct": [1, 1.5]}, r"row 2, instance 'b', column 'correct': correct must be 0/1 or a score in \[0, 1\], got 1.5"),
    ({"correct": [1, -0.1]}, r"row 2, instance 'b', column 'correct': .*got -0.1"),
    ({"successes": [1, 3], "trials": [1, 2]}, r"row 2, instance 'b', column 'successes': successes \(3\) greater "
                                              r"than trials \(2\)"),
    ({"successes": [0, 0], "trials": [1, 0]}, r"row 2, instance 'b', column 'trials': trials must be at least 1, got 0"),
    ({"successes": [-1, 0], "trials": [1, 1]}, r"row 1, instance 'a', column 'successes': successes must not be "
                                               r"negative"),
    ({"successes": [1, "x"], "trials": [1, 1]}, r"row 2, instance 'b', column 'successes': successes must be a number"),
    ({"successes": [1, 1]}, r"column 'trials': column 'successes' needs 'trials' beside it"),
    ({"successes": [1, 1], "trials": [2, 2], "correct": [0.5, 1]},
     r"row 2, instance 'b', column 'correct': correct disagrees with successes/trials \(1 of 2\)"),
])
def test_bad_graded_outcomes_are_located(rows, message):
    frame = pd.DataFrame({"subject": "m", "instance_id": ["a", "b"], **rows})
    with pytest.raises(InputError, match=message):
        validate_outcomes(frame, "o.csv")


def test_graded_outcomes_are_read_in_every_layout(tmp_path):
    (tmp_path / "long.csv").write_text("model,instance_id,successes,trials\nm,a,3,4\nm,b,0,2\n")
    (tmp_path / "run.csv").write_text("instance_id,correct\na,0.25\nb,1\n")
    (tmp_path / "wide.csv").write_text("subject,a,b\nm,0.5,\nn,1,0\n")
    from assess import read_outcomes

    long = read_outcomes(tmp_path / "long.csv")
    assert long[["correct", "successes", "trials"]].values.tolist() == [[0.75, 3, 4], [0, 0, 2]]
    assert read_outcomes(tmp_path / "run.csv", subject="m")["correct"].tolist() == [0.25, 1.0]
    wide = read_outcomes(tmp_path / "wide.csv")
    assert sorted(zip(wide["subject"], wide["instance_id"], wide["correct"])) == [
        ("m", "a", 0.5), ("n", "a", 1.0), ("n", "b", 0.0)]


def test_assessors_train_on_attempts_as_sample_weights():
    battery = pd.DataFrame({"instance_id": ["a", "b", "c", "d"], "QLq": [1.0, 1.0, 4.0, 4.0]})
    rates, few, many = np.array([1.0, 0.0, 1.0, 0.0]), np.ones(4), np.array([10.0, 1.0, 1.0, 10.0])
    even = DemandAssessor(classifier="logistic", features=("QLq",)).fit(battery, rates, sample_weight=few)
    weighted = DemandAssessor(classifier="logistic", features=("QLq",)).fit(battery, rates, sample_weight=many)
    easy, hard = weighted.predict_proba(battery.iloc[[0, 2]])[:, 1]
    assert easy > 0.75 and hard < 0.25  # 10 of 10 at level 1, 0 of 10 at level 4
    assert even.predict_proba(battery.iloc[[0, 2]])[:, 1] == pytest.approx([0.5, 0.5], abs=0.05)
    same = DemandAssessor(classifier="logistic", features=("QLq",)).fit(battery, rates * 0 + [0.9, 0.1, 0.9, 0.1],
                                                                          sample_weight=many)
    assert same.predict_proba(battery.iloc[[0]])[0, 1] > even.predict_proba(battery.iloc[[0]])[0, 1]
    with pytest.raises(InputError, match="sample_weight must be one positive number per row"):
        DemandAssessor(features=("QLq",)).fit(battery, rates, sample_weight=[1, 1, 0, 1])


def test_fit_command_learns_from_successes_and_trials(workspace):
    _outcomes(heavy=10).to_csv(workspace / "attempts.csv", index=False)
    assert main(["fit", str(workspace / "model"), "--battery", str(workspace / "battery.csv"), "--outcomes",
                 str(workspace / "attempts.csv"), "--subject", "m", "--classifier", "logistic"]) == 0
    assert main(["predict", str(workspace / "model"), "--battery", str(workspace / "battery.csv"), "-o",
                 str(workspace / "p.csv")]) == 0
    p = pd.read_csv(workspace / "p.csv").merge(_battery()[["instance_id", "QLq"]], on="instance_id")
    by_level = p.groupby("QLq")["p_success"].mean()
    assert by_level[1.0] > by_level[3.0]


def test_evaluation_refuses_graded_outcomes_by_name(workspace, capsys):
    _outcomes(heavy=10).to_csv(workspace / "attempts.csv", index=False)
    assert main(["evaluate", str(workspace / "eval"), "--battery", str(workspace / "battery.csv"), "--outcomes",
                 str(workspace / "attempts.csv"), "--classifier", "logistic"]) == 2
    assert "instance 'g/4/0', column 'correct': the evaluation protocols score 0/1 outcomes" in \
        " ".join(capsys.readouterr().err.split())
