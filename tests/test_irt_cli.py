"""`assess profile` with method irt and `assess next-items`, end to end on real files cut from the bundled sample."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from assess.cli import main
from assess.datasets import load_sample
from assess.scales import SCALES

SUBJECTS = ["Meta-Llama-3_1-8B-Instruct", "Phi-3-mini-4k-instruct", "Llama-2-7b-hf", "Meta-Llama-3-70B",
            "Yi-6B", "Mistral-7B-Instruct-v0.2"]


@pytest.fixture(scope="module")
def real_files(tmp_path_factory) -> Path:
    battery, outcomes = load_sample(annotated_only=True)
    items = battery[battery["benchmark"] == "mmlu_pro"].head(300)
    folder = tmp_path_factory.mktemp("irt_cli")
    items.to_csv(folder / "battery.csv", index=False)
    chosen = outcomes[outcomes["subject"].isin(SUBJECTS) & outcomes["instance_id"].isin(items["instance_id"])]
    chosen[["subject", "instance_id", "correct"]].to_csv(folder / "outcomes.csv", index=False)
    return folder


def _config(folder: Path, **overrides) -> Path:
    config = {"subject": SUBJECTS[0], "battery": "battery.csv", "outcomes": "outcomes.csv", "output_dir": "out_irt",
              "method": "irt"}
    config.update(overrides)
    path = folder / "model_irt.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_profile_with_method_irt_writes_the_usual_layout(real_files, capsys):
    assert main(["profile", str(_config(real_files))]) == 0
    data = json.loads((real_files / "out_irt" / "abilities.json").read_text())
    assert data["settings"]["method"] == "irt" and data["settings"]["irt"]["form"] == "conjunctive"
    assert set(data["scales"]) == set(SCALES)
    measured = {k: v for k, v in data["scales"].items() if v["n"] > 0}
    assert len(measured) >= 8
    for entry in measured.values():
        low, high = entry["ci95"]
        assert low <= entry["ability"] <= high and entry["slope"] < 0
    table = pd.read_csv(real_files / "out_irt" / "abilities.csv")
    assert list(table.columns[:5]) == ["scale", "ability", "ci_low", "ci_high", "n"]
    assert "Joint demand-IRT" in (real_files / "out_irt" / "report.html").read_text()
    assert "Ability profile" in capsys.readouterr().out


def test_profile_rejects_a_bad_method_with_its_key(real_files, capsys):
    assert main(["profile", str(_config(real_files, method="rasch"))]) == 2
    assert "method" in capsys.readouterr().err
    assert main(["profile", str(_config(real_files, irt={"form": "additive"}))]) == 2
    assert "form" in capsys.readouterr().err


def test_next_items_with_a_fitted_population_and_with_a_saved_model(real_files, capsys):
    out = real_files / "next.csv"
    args = ["next-items", "--battery", str(real_files / "battery.csv"), "--outcomes", str(real_files / "outcomes.csv")]
    # a subject that has run some items: the population is fitted, the subject's items are excluded
    seen = pd.read_csv(real_files / "outcomes.csv")
    first = seen[seen["subject"] == SUBJECTS[0]].head(40)
    partial = pd.concat([seen[seen["subject"] != SUBJECTS[0]], first])
    partial.to_csv(real_files / "partial.csv", index=False)
    assert main(["next-items", "--battery", str(real_files / "battery.csv"), "--outcomes", str(real_files / "partial.csv"),
                 "--subject", SUBJECTS[0], "--k", "15", "--out", str(out)]) == 0
    picked = pd.read_csv(out)
    assert list(picked["rank"]) == list(range(1, 16)) and picked["instance_id"].is_unique
    assert not set(picked["instance_id"]) & set(first["instance_id"])
    assert picked["p_success"].between(0, 1).all() and (picked["information_gain"] > 0).all()
    # a saved model (assess fit --assessor irt) and a brand-new subject with no outcomes yet
    model_dir = real_files / "irt_model"
    assert main(["fit", str(model_dir), "--battery", str(real_files / "battery.csv"), "--outcomes",
                 str(real_files / "outcomes.csv"), "--assessor", "irt"]) == 0
    assert main([*args, "--subject", "new-model", "--k", "5", "--model", str(model_dir), "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 5
    assert "Next items for new-model" in capsys.readouterr().out
    # predictions of the saved model for a fitted subject
    predictions = real_files / "p.csv"
    assert main(["predict", str(model_dir), "--battery", str(real_files / "battery.csv"), "--subject", SUBJECTS[1],
                 "-o", str(predictions)]) == 0
    assert pd.read_csv(predictions)["p_success"].between(0, 1).all()


def test_next_items_bad_input_is_located(real_files, capsys):
    out = real_files / "next.txt"
    args = ["next-items", "--battery", str(real_files / "battery.csv"), "--outcomes", str(real_files / "outcomes.csv"),
            "--subject", SUBJECTS[0]]
    assert main([*args, "--out", str(out)]) == 2
    assert "output must end in" in capsys.readouterr().err
    assert main([*args, "--out", str(real_files / "n.csv"), "--model", str(real_files)]) == 2
    assert "metadata.json" in capsys.readouterr().err


def test_fit_and_next_items_use_the_user_scale(tmp_path, capsys):
    """The PLn example: `assess fit --assessor irt --rubrics` and `next-items --rubrics` fit PLn too."""
    from predictors import load

    example = Path(__file__).resolve().parents[1] / "examples" / "scales"
    common = ["--battery", str(example / "battery.csv"), "--outcomes", str(example / "outcomes.csv"),
              "--rubrics", str(example / "rubrics")]
    assert main(["fit", str(tmp_path / "m"), *common, "--assessor", "irt"]) == 0
    model = load(tmp_path / "m")
    assert model.scales_ == [*SCALES, "PLn"]
    assert main(["next-items", *common, "--subject", "new-model", "--k", "3", "--out", str(tmp_path / "n.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "n.csv")) == 3
    assert main(["fit", str(tmp_path / "b"), *common[:4], "--assessor", "irt"]) == 0
    assert load(tmp_path / "b").scales_ == list(SCALES)  # without the folder PLn is no scale
