"""`assess demands`: outputs end to end on a small real battery and on the bundled sample; located errors."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from assess.cli import main
from assess.datasets import load_sample
from assess.demands import DemandProfile
from tests.conftest import synthetic_battery, synthetic_outcomes

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    battery = synthetic_battery(300, seed=1)
    battery.loc[battery["task"] == "task_3", "task"] = HOSTILE
    battery.to_csv(tmp_path / "battery.csv", index=False)
    synthetic_outcomes(battery, {"strong": 4.0, "weak": 1.5}).to_csv(tmp_path / "outcomes.csv", index=False)
    return tmp_path


def test_small_battery_by_task_writes_every_output(workspace, capsys):
    out = workspace / "out"
    assert main(["demands", str(workspace / "battery.csv"), "--by", "task", "--out", str(out),
                 "--intended", "task_0=QLq,KNf"]) == 0
    for name in ("demand_profile.csv", "demand_profile.json", "report.html", "profiles.png", "heatmap.png",
                 "comparison.png"):
        assert (out / name).stat().st_size > 0, name
    profile = DemandProfile.model_validate_json((out / "demand_profile.json").read_text())
    assert profile.schema_version == "2" and profile.grouping == "task" and len(profile.scales) == 19
    assert sorted(g.group for g in profile.groups) == sorted([HOSTILE, "task_0", "task_1", "task_2"])
    task0 = next(g for g in profile.groups if g.group == "task_0")
    assert task0.intended == ["QLq", "KNf"] and task0.intended_source == "given"
    table = pd.read_csv(out / "demand_profile.csv")
    assert len(table) == 4 * 19 and (table["n_missing"] == 0).all()
    assert table.groupby("group")["n_instances"].first().sum() == 300
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and HOSTILE not in html and "&lt;script&gt;" in html
    assert "<script" not in html and "Definitions" in html
    assert "Demand profile by task" in capsys.readouterr().out


def test_with_outcomes_gives_expected_accuracy_per_group(workspace, capsys):
    out = workspace / "out"
    assert main(["demands", str(workspace / "battery.csv"), "--out", str(out), "--outcomes",
                 str(workspace / "outcomes.csv"), "--subject", "strong", "--subject", "weak", "--bootstrap", "20",
                 "--min-n", "5"]) == 0
    expected = pd.read_csv(out / "expected_accuracy.csv")
    assert list(expected["group"]) == ["bench_a", "bench_b"] * 2
    assert (expected["ci_low"] <= expected["predicted"]).all() and (expected["predicted"] <= expected["ci_high"]).all()
    assert (expected["predicted"] - expected["actual"]).abs().max() < 0.15
    strong, weak = expected[expected["subject"] == "strong"], expected[expected["subject"] == "weak"]
    assert (strong["predicted"].to_numpy() > weak["predicted"].to_numpy()).all()
    data = json.loads((out / "demand_profile.json").read_text())
    assert data["prediction"]["bootstrap"] == 20 and len(data["expectations"]) == 4
    html = (out / "report.html").read_text()
    assert "Ability against demand" in html and html.count("data:image/png;base64,") == 3 + 1 + 4
    assert "Expected accuracy" in capsys.readouterr().out


def test_sample_by_benchmark_shows_mmlu_pro_and_bbh_side_by_side(tmp_path, capsys):
    assert main(["demands", "sample", "--by", "benchmark", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "bbh" in printed and "mmlu_pro" in printed and "specificity" in printed
    profile = DemandProfile.model_validate_json((tmp_path / "demand_profile.json").read_text())
    sizes = {g.group: (g.n_instances, g.n_annotated) for g in profile.groups}
    assert sizes["bbh"] == (6511, 6511) and sizes["mmlu_pro"] == (12032, 1260)
    qlq = next(r for r in profile.rows if r.group == "mmlu_pro" and r.scale == "QLq")
    assert qlq.n_missing == 12032 - 1260 and sum(qlq.counts) == 1260  # missing levels counted, never imputed


def test_sample_per_task_lists_the_mmlu_pro_and_bbh_tasks(tmp_path, capsys):
    assert main(["demands", "sample", "--by", "task", "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "demand_profile.csv")
    profile = DemandProfile.model_validate_json((tmp_path / "demand_profile.json").read_text())
    battery = load_sample()[0]
    for benchmark, tasks in battery.groupby("benchmark")["task"].unique().items():
        assert set(tasks) <= set(table["group"]), benchmark
    assert len(battery[battery["benchmark"] == "mmlu_pro"]["task"].unique()) == 14
    assert len(battery[battery["benchmark"] == "bbh"]["task"].unique()) == 27
    order = [g.group for g in profile.groups]  # tasks of one benchmark stay together
    bbh = sorted(order.index(t) for t in battery.loc[battery["benchmark"] == "bbh", "task"].unique())
    assert bbh == list(range(bbh[0], bbh[0] + 27))
    assert {"math", "law", "logical_deduction_five_objects", "word_sorting"} <= set(table["group"])
    printed = capsys.readouterr().out
    assert "web_of_lies" in printed and "word_sorting" in printed and "top demands" in printed


@pytest.mark.parametrize("args, message", [
    (["--by", "colour"], "unknown grouping 'colour'"),
    (["--by", "source"], "needs a 'source_benchmark' column"),
    (["--intended", "task_0"], "expected GROUP=CODE"),
    (["--intended", "nowhere=QLq"], "intended scales given for unknown benchmark"),
    (["--compare", "nowhere"], "--compare: unknown benchmark"),
    (["--subject", "strong"], "--subject needs --outcomes"),
    (["--outcomes", "OUTCOMES"], "--outcomes needs at least one --subject"),
    (["--outcomes", "OUTCOMES", "--subject", "nobody"], "subject 'nobody' has no outcomes"),
    (["--rule", "mean"], "--rule 'mean'"),
])
def test_bad_options_exit_2_with_a_located_message(workspace, capsys, args, message):
    args = [str(workspace / "outcomes.csv") if a == "OUTCOMES" else a for a in args]
    assert main(["demands", str(workspace / "battery.csv"), "--out", str(workspace / "out"), *args]) == 2
    assert message in capsys.readouterr().err


def test_bad_battery_names_file_row_and_column(workspace, capsys):
    battery = pd.read_csv(workspace / "battery.csv")
    battery.loc[4, "QLq"] = 7
    battery.to_csv(workspace / "bad.csv", index=False)
    assert main(["demands", str(workspace / "bad.csv"), "--out", str(workspace / "out")]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "row 5" in err and "'QLq'" in err and "outside 0-5" in err
    assert main(["demands", str(workspace / "missing.csv"), "--out", str(workspace / "out")]) == 2
    assert "missing.csv: file not found" in capsys.readouterr().err
    assert main(["demands", str(workspace / "battery.csv"), "--out", str(workspace / "o"),
                 "--rubrics", str(workspace)]) == 2
    assert "no rubric files" in capsys.readouterr().err


def test_scales_option_chooses_the_analysed_scales(workspace, tmp_path, capsys):
    assert main(["demands", str(workspace / "battery.csv"), "--out", str(tmp_path / "out"),
                 "--scales", "QLq,KNf"]) == 0
    profile = DemandProfile.model_validate_json((tmp_path / "out" / "demand_profile.json").read_text())
    assert profile.scales == ["QLq", "KNf"] and set(profile.rubric_hashes) == {"QLq", "KNf"}
    assert {r.scale for r in profile.rows} == {"QLq", "KNf"}
    assert main(["demands", str(workspace / "battery.csv"), "--out", str(tmp_path / "o"), "--scales", "QLq,PLn"]) == 2
    assert "unknown scale code(s) 'PLn'" in capsys.readouterr().err
    for empty in (",", " ", ""):  # an empty selection is refused at the option, not met by a crash in the plots
        assert main(["demands", str(workspace / "battery.csv"), "--out", str(tmp_path / "o"), "--scales", empty]) == 2
        assert "--scales" in (err := capsys.readouterr().err) and "no scale code given" in err
