"""`assess predict` fills the subject column: from the fitted assessor, or from the profile's abilities.json."""
from __future__ import annotations

import json

import pandas as pd

from assess.cli import main
from test_predictors_helpers import synthetic_battery, synthetic_outcomes


def _files(tmp_path):
    battery = synthetic_battery(160)
    battery.to_parquet(tmp_path / "battery.parquet")
    synthetic_outcomes(battery, {"weak": 1.5, "strong": 3.5}).to_csv(tmp_path / "outcomes.csv", index=False)
    return tmp_path / "battery.parquet", tmp_path / "outcomes.csv"


def test_single_subject_assessor_records_its_subject(tmp_path, capsys):
    battery, outcomes = _files(tmp_path)
    model, out = tmp_path / "model", tmp_path / "p.csv"
    assert main(["fit", str(model), "--battery", str(battery), "--outcomes", str(outcomes), "--subject", "weak",
                 "--classifier", "logistic"]) == 0
    assert json.loads((model / "metadata.json").read_text())["subject"] == "weak"
    assert main(["predict", str(model), "--battery", str(battery), "-o", str(out)]) == 0
    assert pd.read_csv(out)["subject"].eq("weak").all()
    assert main(["predict", str(model), "--battery", str(battery), "--subject", "strong", "-o", str(out)]) == 2
    assert "fitted on 'weak', not 'strong'" in capsys.readouterr().err.replace("\n", "")
    assert main(["fit", str(model), "--battery", str(battery), "--outcomes", str(outcomes), "--subject", "Weak-"]) == 2
    assert "did you mean 'weak'?" in capsys.readouterr().err.replace("\n", "")


def test_multisubject_takes_the_subject_from_abilities_json(tmp_path, capsys):
    battery, outcomes = _files(tmp_path)
    model, out = tmp_path / "multi", tmp_path / "p.csv"
    assert main(["fit", str(model), "--battery", str(battery), "--outcomes", str(outcomes),
                 "--assessor", "multisubject", "--classifier", "logistic"]) == 0
    battery_csv = tmp_path / "battery.csv"
    pd.read_parquet(battery).to_csv(battery_csv, index=False)
    new = pd.read_csv(outcomes).query("subject == 'strong'").assign(subject="newcomer")
    new.to_csv(tmp_path / "new.csv", index=False)
    assert main(["profile", "--subject", "newcomer", "--battery", str(battery_csv), "--outcomes",
                 str(tmp_path / "new.csv"), "--out", str(tmp_path / "prof"), "--bootstrap", "0", "--min-n", "1",
                 "--quiet"]) == 0
    profile = tmp_path / "prof" / "abilities.json"
    assert main(["predict", str(model), "--battery", str(battery), "--profile", str(profile), "-o", str(out)]) == 0
    assert pd.read_csv(out)["subject"].eq("newcomer").all()
    capsys.readouterr()
    assert main(["predict", str(model), "--battery", str(battery), "--subject", "newcomer", "-o", str(out)]) == 2
    assert "give one with --profile abilities.json" in capsys.readouterr().err.replace("\n", "")
    assert main(["predict", str(model), "--battery", str(battery), "-o", str(out)]) == 2
    assert "needs --subject NAME" in capsys.readouterr().err.replace("\n", "")
