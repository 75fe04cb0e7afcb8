"""`assess demands` on the active scale set: a user level scale (the PLn example) and a user percentage scale."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from assess.battery import validate_battery
from assess.cli import main
from assess.demand_ability import expected_accuracy
from assess.demands import DemandProfile, demand_profile
from assess.scaleset import load_scale_set
from rubrics_fixtures import RUBRICS_DIR

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scales"
#: Bands of the user percentage scale RSk, unlike UG's.
RSK_BANDS = [[0, 10], [10, 20], [20, 40], [40, 60], [60, 80], [80, 100]]


def test_the_pln_example_is_profiled_with_its_user_scale(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["demands", str(EXAMPLE / "battery.csv"), "--by", "task", "--rubrics", str(EXAMPLE / "rubrics"),
                 "--intended", "dyck_languages=PLn", "--outcomes", str(EXAMPLE / "outcomes.csv"),
                 "--subject", "code-davinci-002-cot", "--min-n", "1", "--bootstrap", "3", "--out", str(out)]) == 0
    profile = DemandProfile.model_validate_json((out / "demand_profile.json").read_text())
    assert profile.scales[-1] == "PLn" and len(profile.scales) == 20 and profile.kinds["PLn"] == "level"
    assert profile.names["PLn"] == "Planning and sequencing"
    assert profile.scale_set_hash == load_scale_set([EXAMPLE / "rubrics"]).hash
    dyck = next(r for r in profile.rows if r.group == "dyck_languages" and r.scale == "PLn")
    assert dyck.counts == [0, 2, 0, 0, 2, 0] and dyck.mean == 2.5 and dyck.demand_share is not None  # 4, 4, 1, 1
    assert next(g for g in profile.groups if g.group == "dyck_languages").intended == ["PLn"]
    table = pd.read_csv(out / "demand_profile.csv")
    assert len(table) == 10 * 20 and set(table.loc[table["scale"] == "PLn", "kind"]) == {"level"}
    html = (out / "report.html").read_text()
    assert "Planning and sequencing" in html and "Ability against demand" in html
    assert len(pd.read_csv(out / "expected_accuracy.csv")) == 10
    assert "PLn" in capsys.readouterr().out
    assert main(["demands", str(EXAMPLE / "battery.csv"), "--out", str(tmp_path / "o"), "--scales", "PLn"]) == 2
    assert "unknown scale code(s) 'PLn'" in capsys.readouterr().err  # without its rubric folder PLn is no scale


def test_the_user_scale_gets_a_curve_in_expected_accuracy():
    scale_set = load_scale_set([EXAMPLE / "rubrics"])
    battery = validate_battery(pd.read_csv(EXAMPLE / "battery.csv"), "battery.csv", scale_set)
    outcomes = pd.read_csv(EXAMPLE / "outcomes.csv")
    ids = battery.loc[battery["task"] == "dyck_languages", "instance_id"]
    expectation, curves = expected_accuracy(battery, outcomes, "code-davinci-002-cot", ids, scale_set=scale_set,
                                            min_n=1, bootstrap=0)
    assert list(curves["scale"]) == list(scale_set.level_codes) and curves.iloc[-1]["scale"] == "PLn"
    assert expectation.n_predicted == 4 and expectation.predicted is not None
    only, _ = expected_accuracy(battery, outcomes, "code-davinci-002-cot", ids, scale_set=scale_set, scales=["PLn"],
                                min_n=1, bootstrap=0)
    assert only.n_predicted == 4  # PLn alone carries the prediction


@pytest.fixture
def percentage_rubrics(tmp_path) -> Path:
    """A user percentage scale RSk (family extraneous) with bands of its own."""
    rubric = yaml.safe_load((RUBRICS_DIR / "UG.yaml").read_text())
    rubric.update(code="RSk", name="Risk of harm", family="extraneous")
    for level, band in zip(rubric["levels"], RSK_BANDS):
        level["band"] = band
    folder = tmp_path / "rubrics"
    folder.mkdir()
    (folder / "RSk.yaml").write_text(yaml.safe_dump(rubric, sort_keys=False))
    return folder


def test_a_user_percentage_scale_goes_into_its_own_bands(percentage_rubrics, tmp_path):
    scale_set = load_scale_set([percentage_rubrics])
    assert scale_set["RSk"].kind == "percentage" and scale_set.unguessability == "UG"
    rows = pd.DataFrame({"instance_id": ["a", "b", "c", "d"], "task": ["t"] * 4, "QLq": [1, 2, 3, 3],
                         "RSk": [5, 15, 15, 100], "UG": [20, 20, 60, 100]})
    battery = validate_battery(rows, "rows", scale_set)
    profile = demand_profile(battery, "task", scale_set=scale_set, scales=["QLq", "RSk", "UG"])
    row = {r.scale: r for r in profile.rows}
    assert row["RSk"].counts == [1, 2, 0, 0, 0, 1]  # RSk's bands: 0-10, 10-20 (twice), 80-100
    assert row["UG"].counts == [2, 0, 1, 0, 0, 1]  # UG's bands: 0-25 (twice), 50-70, 97-100
    assert row["RSk"].demand_share is None and row["RSk"].dominant_share is None  # a percentage is no demand
    assert profile.bands["RSk"] == [tuple(b) for b in RSK_BANDS] and profile.kinds["RSk"] == "percentage"
    assert row["QLq"].demand_share == 1.0


def test_the_cli_reports_the_user_percentage_scale(percentage_rubrics, tmp_path):
    rows = pd.DataFrame({"instance_id": [f"i{k}" for k in range(12)], "benchmark": ["b1", "b2"] * 6,
                         "QLq": [k % 6 for k in range(12)], "KNf": [(k * 5) % 6 for k in range(12)],
                         "RSk": [k * 9 for k in range(12)]})
    rows.to_csv(tmp_path / "battery.csv", index=False)
    out = tmp_path / "out"
    assert main(["demands", str(tmp_path / "battery.csv"), "--rubrics", str(percentage_rubrics),
                 "--out", str(out)]) == 0
    table = pd.read_csv(out / "demand_profile.csv")
    rsk = table[table["scale"] == "RSk"]
    assert set(rsk["kind"]) == {"percentage"} and rsk["demand_share"].isna().all() and rsk["n_annotated"].sum() == 12
    html = (out / "report.html").read_text()
    assert "Risk of harm" in html and "0–10, 10–20, 20–40, 40–60, 60–80, 80–100" in html
