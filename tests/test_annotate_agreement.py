"""Agreement between annotators and aggregation to final levels, through the library and the CLI."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assess.annotate.agreement import aggregate, agreement_report
from assess.battery import validate_battery
from assess.cli import main
from assess.errors import InputError


def _battery(name: str, qlq: list[float], ug: list[float]) -> pd.DataFrame:
    return validate_battery(pd.DataFrame({"instance_id": [f"i{k}" for k in range(len(qlq))], "QLq": qlq, "UG": ug,
                                          "annotator": name, "annotation_protocol": "all-scales/v1",
                                          "rubric_hash": "h1"}))


A = _battery("a", [0, 1, 2, 3, 4, 5], [10, 30, 60, 80, 90, 99])
B = _battery("b", [0, 1, 2, 3, 4, 5], [10, 30, 60, 80, 90, 99])
C = _battery("c", [1, 1, 3, 3, 2, np.nan], [60, 30, 60, 75, 98, 99])


def test_identical_annotators_agree_perfectly_and_others_less():
    report = agreement_report({"a": A, "b": B, "c": C}, ["QLq", "UG"]).set_index(["scale", "annotator_a", "annotator_b"])
    same = report.loc[("QLq", "a", "b")]
    assert same[["qwk", "spearman", "exact", "within_one"]].tolist() == [1.0, 1.0, 1.0, 1.0] and same["n"] == 6
    other = report.loc[("QLq", "a", "c")]
    assert other["n"] == 5  # c left i5 unrated
    assert other["exact"] == pytest.approx(2 / 5) and other["within_one"] == pytest.approx(4 / 5)
    assert 0 < other["qwk"] < 1
    ug = report.loc[("UG", "a", "c")]  # compared on UG rubric levels: 10→0 vs 60→2, 90→4 vs 98→5
    assert ug["exact"] == pytest.approx(4 / 6) and ug["within_one"] == pytest.approx(5 / 6)


def test_constant_ratings_give_undefined_not_invented_statistics():
    flat = _battery("f", [2] * 6, [50] * 6)
    row = agreement_report({"f": flat, "g": flat.assign(annotator="g")}, ["QLq"]).iloc[0]
    assert np.isnan(row["qwk"]) and np.isnan(row["spearman"]) and row["exact"] == 1.0


def test_median_aggregation_ignores_missing_cells():
    final = aggregate({"a": A, "b": B, "c": C}, ["QLq", "UG"])
    assert final["QLq"].tolist() == [0, 1, 2, 3, 4, 5]
    assert final["UG"].tolist() == [10, 30, 60, 80, 90, 99]
    assert set(final["annotator"]) == {"median(a,b,c)"}
    mean = aggregate({"a": A, "c": C}, ["QLq"], method="mean")
    assert mean["QLq"].tolist() == [0.5, 1, 2.5, 3, 3, 5]
    with pytest.raises(InputError, match="unknown aggregation 'mode'"):
        aggregate({"a": A, "c": C}, ["QLq"], method="mode")


def test_agreement_cli_writes_report_and_final_levels(tmp_path, capsys):
    for name, table in (("a", A), ("b", B), ("c", C)):
        table.to_csv(tmp_path / f"{name}.csv", index=False)
    files = [str(tmp_path / f"{n}.csv") for n in "abc"]
    assert main(["agreement", *files, "--scales", "QLq,UG", "--report", str(tmp_path / "r.csv"),
                 "--out", str(tmp_path / "final.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "r.csv")) == 6
    assert pd.read_csv(tmp_path / "final.csv")["QLq"].tolist() == [0, 1, 2, 3, 4, 5]
    assert main(["agreement", files[0], files[0]]) == 2
    assert "annotator 'a' appears in two files" in capsys.readouterr().err
    assert main(["agreement", *files, "--scales", "QLx"]) == 2
    assert "unknown scale code(s) 'QLx'" in capsys.readouterr().err
