"""`assess info BATTERY|sample`: benchmarks and tasks, annotation coverage, subjects with counts and accuracy."""
from __future__ import annotations

import numpy as np

from assess.cli import main
from assess.commands.info import battery_summary, coverage, subject_summary


def test_info_of_a_battery_file_with_outcomes(tmp_path, battery, outcomes, capsys):
    battery.loc[:99, "QLq"] = np.nan
    battery.to_csv(tmp_path / "battery.csv", index=False)
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    assert main(["info", str(tmp_path / "battery.csv"), "--outcomes", str(tmp_path / "outcomes.csv")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "600 instances, 600 with annotations" in out
    assert "bench_a" in out and "task_3" in out and "strong" in out and "weak" in out

    tasks = battery_summary(battery)
    assert tasks["instances"].sum() == 600 and set(tasks["benchmark"]) == {"bench_a", "bench_b"}
    cover = coverage(battery).set_index("scale")
    assert cover.loc["QLq", "rated"] == 500 and cover.loc["AS", "rated"] == 600
    assert sum(cover.loc["QLq", str(level)] for level in range(6)) == 500
    subjects = subject_summary(battery, outcomes).set_index("subject")
    assert subjects.loc["strong", "outcomes"] == 600
    assert subjects.loc["strong", "accuracy"] == outcomes[outcomes["subject"] == "strong"]["correct"].mean()


def test_info_without_outcomes_says_how_to_list_subjects(tmp_path, battery, capsys):
    battery.to_csv(tmp_path / "battery.csv", index=False)
    assert main(["info", str(tmp_path / "battery.csv")]) == 0
    assert "--outcomes FILE lists the subjects" in capsys.readouterr().out


def test_info_of_the_sample_lists_its_subjects(capsys):
    assert main(["info", "sample"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "19968 instances, 8257 with annotations" in out
    assert "Meta-Llama-3_1-8B-Instruct │ 12032 │ 0.442 │ 1260" in out


def test_info_of_a_missing_file_is_a_located_error(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: file not found" in capsys.readouterr().err.replace("\n", "")
