"""`assess fit`, `assess predict` and `assess evaluate` end to end on files."""
import json

import pandas as pd

from assess.cli import main
from assess.schemas import AbilitiesFile, Excluded, ProfileSettings, ScaleAbility, read_predictions, write_file
from test_predictors_helpers import synthetic_battery, synthetic_outcomes

ABILITIES = {"weak": 1.5, "strong": 3.5}


def _abilities_file(subject: str, abilities: dict[str, float]) -> AbilitiesFile:
    """An ``abilities.json`` document as `assess profile` writes it, for hand-made profiles."""
    settings = ProfileSettings(method="scc", min_n=30, bootstrap=0, seed=0, dominant_only=True, min_ug=75.0, level_diff=0.0,
                               round_levels=False, filters={}, scale_set_hash="h")
    scales = {code: ScaleAbility(name=code, family="elemental", kind="level", insufficient_evidence=False, extrapolation=False, ability=value, ci95=(None, None), n=1,
                                 intercept=None, slope=None) for code, value in abilities.items()}
    return AbilitiesFile(subject=subject, assess_version="test", n_instances=1, n_annotated=1, accuracy=0.5,
                         settings=settings, excluded=Excluded(low_ug=0, missing_ug=0), scales=scales)


def _files(tmp_path):
    battery = synthetic_battery(160)
    battery_file, outcomes_file = tmp_path / "battery.parquet", tmp_path / "outcomes.csv"
    battery.to_parquet(battery_file)
    synthetic_outcomes(battery, ABILITIES).to_csv(outcomes_file, index=False)
    return battery_file, outcomes_file


def test_fit_then_predict_writes_probabilities(tmp_path):
    battery, outcomes = _files(tmp_path)
    data = ["--battery", str(battery), "--outcomes", str(outcomes)]
    assert main(["fit", str(tmp_path / "model"), *data, "--subject", "weak", "--classifier", "logistic"]) == 0
    assert main(["predict", str(tmp_path / "model"), "--battery", str(battery), "-o", str(tmp_path / "p.csv")]) == 0
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert len(predictions) == 160 and predictions["p_success"].between(0, 1).all()


def test_multisubject_predict_for_a_new_subject_profile(tmp_path, capsys):
    battery, outcomes = _files(tmp_path)
    profiles = {"weak": {s: 1.5 for s in ("QLq", "MCt")}, "strong": {s: 3.5 for s in ("QLq", "MCt")}}
    table = pd.DataFrame([{"subject": k, "scale": s, "ability": a} for k, p in profiles.items() for s, a in p.items()])
    model = tmp_path / "multi"
    from predictors import MultiSubjectAssessor, save
    from predictors.features import DEMAND_FEATURES

    rows = pd.read_csv(outcomes).merge(pd.read_parquet(battery), on="instance_id")
    save(MultiSubjectAssessor(profiles=profiles, features=DEMAND_FEATURES).fit(rows, rows["correct"]), model)
    table.to_csv(tmp_path / "abilities.csv", index=False)
    write_file(tmp_path / "new.json", _abilities_file("newbie", {"QLq": 4.0, "MCt": 4.0}))
    out = tmp_path / "p.parquet"
    assert main(["predict", str(model), "--battery", str(battery), "--subject", "newbie",
                 "--profile", str(tmp_path / "new.json"), "-o", str(out)]) == 0
    assert pd.read_parquet(out)["subject"].eq("newbie").all()
    assert main(["predict", str(model), "--battery", str(battery), "--subject", "newbie", "-o", str(out)]) == 2
    assert "no ability profile for subject 'newbie'" in capsys.readouterr().err
    assert main(["predict", str(model), "--battery", str(battery), "--subject", "ghost",
                 "--profile", str(tmp_path / "abilities.csv"), "-o", str(out)]) == 2
    assert "abilities.csv: not readable JSON" in capsys.readouterr().err  # one shape: abilities.json


def test_evaluate_writes_table_summary_and_plots(tmp_path, capsys):
    battery, outcomes = _files(tmp_path)
    out = tmp_path / "eval"
    assert main(["evaluate", str(out), "--battery", str(battery), "--outcomes", str(outcomes), "--classifier",
                 "logistic", "--protocol", "in_distribution", "--protocol", "task_ood", "--folds", "3"]) == 0
    table = pd.read_csv(out / "table.csv")
    assert set(table["protocol"]) == {"in_distribution", "task_ood"} and set(table["subject"]) == set(ABILITIES)
    assert {"auroc", "ece", "brier", "accuracy", "auarc", "valid_share"} <= set(table.columns)
    assert (out / "calibration.png").stat().st_size > 0 and (out / "rejection.png").exists()
    assert len(pd.read_csv(out / "summary.csv")) == 4
    printed = capsys.readouterr().out
    assert "evaluation summary" in printed and "│ auroc" in printed and "│ ece" in printed
    assert "…" not in printed  # nothing cut off at 80 columns


def test_cli_errors_name_the_problem(tmp_path, capsys):
    battery, outcomes = _files(tmp_path)
    data = ["--battery", str(battery), "--outcomes", str(outcomes)]
    assert main(["fit", str(tmp_path / "m"), *data]) == 2
    assert "--subject is required for the demand assessor" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "e"), *data, "--assessor", "oracle"]) == 2
    assert "unknown assessor 'oracle'" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "nothing"), "--battery", str(battery), "-o", str(tmp_path / "p.txt")]) == 2
    assert "not a saved assessor" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "e"), "--outcomes", str(outcomes)]) == 2
    assert "give --battery and --outcomes" in capsys.readouterr().err


def test_fit_multisubject_estimates_profiles_and_predicts_known_subjects(tmp_path):
    battery, outcomes = _files(tmp_path)
    model = tmp_path / "multi"
    assert main(["fit", str(model), "--battery", str(battery), "--outcomes", str(outcomes),
                 "--assessor", "multisubject"]) == 0
    metadata = json.loads((model / "metadata.json").read_text())
    assert set(metadata["state"]["profiles"]) == set(ABILITIES)
    weak, strong = (tmp_path / "weak.csv", tmp_path / "strong.csv")
    for name, out in (("weak", weak), ("strong", strong)):
        assert main(["predict", str(model), "--battery", str(battery), "--subject", name, "-o", str(out)]) == 0
    assert pd.read_csv(strong)["p_success"].mean() > pd.read_csv(weak)["p_success"].mean()


def test_multisubject_predict_reads_the_files_assess_profile_writes(tmp_path):
    """A new model profiled with `assess profile` gets predictions from its abilities.json or abilities.csv."""
    battery, outcomes = _files(tmp_path)
    model = tmp_path / "multi"
    assert main(["fit", str(model), "--battery", str(battery), "--outcomes", str(outcomes),
                 "--assessor", "multisubject"]) == 0
    profile_dir = tmp_path / "profile"
    (tmp_path / "model.yaml").write_text(f"subject: strong\nbattery: {battery}\noutcomes: {outcomes}\n"
                                         f"output_dir: {profile_dir}\nbootstrap: 0\n")
    assert main(["profile", str(tmp_path / "model.yaml")]) == 0
    out = tmp_path / "p.csv"
    assert main(["predict", str(model), "--battery", str(battery), "--subject", "newcomer",
                 "--profile", str(profile_dir / "abilities.json"), "-o", str(out)]) == 0
    predictions = read_predictions(out)
    assert predictions["subject"].eq("newcomer").all() and predictions["p_success"].between(0, 1).all()
    known = tmp_path / "known.csv"
    assert main(["predict", str(model), "--battery", str(battery), "--subject", "strong", "-o", str(known)]) == 0
    assert read_predictions(known)["p_success"].corr(predictions["p_success"]) > 0.9


def test_fit_on_a_per_subject_outcome_file_uses_the_given_subject(tmp_path):
    battery, outcomes = _files(tmp_path)
    run = pd.read_csv(outcomes).query("subject == 'weak'").drop(columns="subject")
    run.to_csv(tmp_path / "run_2024.csv", index=False)
    assert main(["fit", str(tmp_path / "model"), "--battery", str(battery), "--outcomes", str(tmp_path / "run_2024.csv"),
                 "--subject", "weak", "--classifier", "logistic"]) == 0


def test_evaluate_puts_several_assessors_side_by_side(tmp_path, capsys):
    battery, outcomes = _files(tmp_path)
    out = tmp_path / "eval"
    assert main(["evaluate", str(out), "--battery", str(battery), "--outcomes", str(outcomes), "--assessor", "demand",
                 "--assessor", "combined", "--protocol", "in_distribution", "--folds", "3"]) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["assessor"]) == {"demand", "combined"} and len(summary) == 4
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "combined assessor" in printed and "demand assessor" in printed and "side by side" in printed
    assert "what the combined assessors chose" in printed  # e.g. "demand+platt" with its share of predictions
    chosen = pd.read_parquet(out / "predictions.parquet").query("assessor == 'combined'")["chosen"]
    assert chosen.str.fullmatch(r"(demand|embedding|stack|residual|boost)\+(none|platt|isotonic)").all()
    assert (out / "calibration_combined.png").exists() and (out / "rejection_demand.png").exists()
