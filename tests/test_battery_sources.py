"""Loading batteries and outcomes from files: layouts, and located errors for every kind of bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assess.battery import validate_battery, validate_outcomes
from assess.errors import InputError
from assess.sources import read_battery, read_outcomes


def adele_csv(battery: pd.DataFrame, path) -> None:
    """Write ``battery`` in the ADeLe v1.0 column layout."""
    df = battery.rename(columns={"target": "groundtruth"}).assign(source="toy", verification_final="ok")
    df.to_csv(path, index=False)


def test_adele_layout_loads_with_levels_and_target(tmp_path, battery):
    adele_csv(battery, tmp_path / "adele.csv")
    loaded = read_battery(tmp_path / "adele.csv")
    assert len(loaded) == len(battery)
    assert (loaded["target"] == "A").all()
    np.testing.assert_array_equal(loaded["QLq"].to_numpy(), battery["QLq"].to_numpy())
    assert "verification_final" in loaded.columns  # extra columns are kept


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_generic_formats_with_column_mapping(tmp_path, battery, suffix):
    df = battery.rename(columns={"instance_id": "id", "prompt": "question"})
    path = tmp_path / f"b.{suffix}"
    {"csv": lambda: df.to_csv(path, index=False), "jsonl": lambda: df.to_json(path, orient="records", lines=True),
     "parquet": lambda: df.to_parquet(path)}[suffix]()
    loaded = read_battery(path, {"instance_id": "id", "prompt": "question"})
    assert loaded["instance_id"].tolist() == battery["instance_id"].tolist()
    assert loaded["prompt"].iloc[3] == battery["prompt"].iloc[3]


def test_missing_annotations_stay_missing(tmp_path, battery):
    battery.loc[5, "KNn"] = np.nan
    adele_csv(battery.drop(columns=["VO"]), tmp_path / "b.csv")
    loaded = read_battery(tmp_path / "b.csv")
    assert np.isnan(loaded.loc[5, "KNn"]) and loaded["VO"].isna().all()


def test_level_out_of_range_names_file_row_and_column(tmp_path, battery):
    battery.loc[7, "QLq"] = 6
    adele_csv(battery, tmp_path / "b.csv")
    with pytest.raises(InputError, match=r"b\.csv: row 8, instance 'toy/7', column 'QLq': level 6 outside 0-5"):
        read_battery(tmp_path / "b.csv")


def test_ug_out_of_range(battery):
    battery.loc[2, "UG"] = 101
    with pytest.raises(InputError, match=r"row 3, instance 'toy/2', column 'UG': percentage 101 outside 0-100"):
        validate_battery(battery, "x.csv")


def test_garbled_level(battery):
    battery["CEc"] = battery["CEc"].astype(object)
    battery.loc[4, "CEc"] = "high"
    with pytest.raises(InputError, match=r"row 5.*column 'CEc': not a number: 'high'"):
        validate_battery(battery, "x.csv")


def test_duplicate_ids_name_both_rows(tmp_path, battery):
    battery.loc[9, "instance_id"] = "toy/2"
    adele_csv(battery, tmp_path / "b.csv")
    with pytest.raises(InputError, match=r"b\.csv: row 10, instance 'toy/2', column 'instance_id': duplicate instance id \(rows 3 and 10\)"):
        read_battery(tmp_path / "b.csv")


def test_unknown_scale_in_mapping(tmp_path, battery):
    battery.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(InputError, match=r"b\.csv: column mapping names unknown field 'QLx'"):
        read_battery(tmp_path / "b.csv", {"QLx": "QLq"})


def test_mapping_to_absent_column(tmp_path, battery):
    battery.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(InputError, match=r"names column 'question', which the file lacks"):
        read_battery(tmp_path / "b.csv", {"prompt": "question"})


def test_malformed_csv_and_jsonl(tmp_path):
    (tmp_path / "bad.csv").write_text('instance_id,QLq\n"a,1\nb,2,3,4\n')
    with pytest.raises(InputError, match=r"bad\.csv: malformed CSV"):
        read_battery(tmp_path / "bad.csv")
    (tmp_path / "bad.jsonl").write_text('{"instance_id": "a"}\n{"instance_id": \n')
    with pytest.raises(InputError, match=r"bad\.jsonl: line 2: malformed JSON"):
        read_battery(tmp_path / "bad.jsonl")


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(InputError, match=r"nope\.csv: file not found"):
        read_battery(tmp_path / "nope.csv")
    (tmp_path / "b.xlsx").write_text("x")
    with pytest.raises(InputError, match=r"unsupported file type '\.xlsx'"):
        read_battery(tmp_path / "b.xlsx")


def test_outcome_layouts_agree(tmp_path, battery, outcomes):
    outcomes.to_csv(tmp_path / "long.csv", index=False)
    outcomes.rename(columns={"subject": "model"}).to_parquet(tmp_path / "long.parquet")
    outcomes[outcomes["subject"] == "weak"].drop(columns="subject").to_csv(tmp_path / "weak.csv", index=False)
    wide = outcomes.pivot(index="subject", columns="instance_id", values="correct").reset_index()
    wide.to_csv(tmp_path / "wide.csv", index=False)
    long = read_outcomes(tmp_path / "long.csv", battery=battery)
    key = ["subject", "instance_id"]
    expected = long.sort_values(key)[key + ["correct"]].reset_index(drop=True)
    for path in ("long.parquet", "wide.csv"):
        got = read_outcomes(tmp_path / path, battery=battery).sort_values(key)[key + ["correct"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)
    per_subject = read_outcomes(tmp_path / "weak.csv", battery=battery)
    assert set(per_subject["subject"]) == {"weak"} and len(per_subject) == len(battery)


def test_wide_matrix_blank_cells_mean_not_run(tmp_path):
    (tmp_path / "wide.csv").write_text("model,q1,q2,q3\nm1,1,,0\nm2,0,1,1\n")
    got = read_outcomes(tmp_path / "wide.csv")
    assert len(got) == 5 and set(got[got["subject"] == "m1"]["instance_id"]) == {"q1", "q3"}


def test_correctness_outside_the_unit_interval(tmp_path):
    (tmp_path / "o.csv").write_text("subject,instance_id,correct\nm,a,1\nm,b,1.5\n")
    with pytest.raises(InputError, match=r"o\.csv: row 2, instance 'b', column 'correct': correct must be 0/1 or a "
                                         r"score in \[0, 1\], got 1\.5"):
        read_outcomes(tmp_path / "o.csv")


def test_boolean_correctness_accepted():
    got = validate_outcomes(pd.DataFrame({"subject": "m", "instance_id": ["a", "b"], "correct": [True, "false"]}))
    assert got["correct"].tolist() == [1, 0]


def test_outcomes_for_unknown_instances(tmp_path, battery):
    (tmp_path / "o.csv").write_text("subject,instance_id,correct\nm,toy/1,1\nm,ghost/9,0\n")
    with pytest.raises(InputError, match=r"row 2, instance 'ghost/9', column 'instance_id': outcome for an instance not in the battery \(1 such rows\)"):
        read_outcomes(tmp_path / "o.csv", battery=battery)


def test_duplicate_outcomes(tmp_path):
    (tmp_path / "o.csv").write_text("subject,instance_id,correct\nm,a,1\nm,a,0\n")
    with pytest.raises(InputError, match=r"row 2, instance 'a'.*duplicate outcome for subject 'm'"):
        read_outcomes(tmp_path / "o.csv")


def test_wide_matrix_errors_name_the_file_row_and_instance_column(tmp_path, battery):
    (tmp_path / "wide.csv").write_text("model,toy/1,toy/2\nm1,1,0\nm2,1,maybe\n")
    with pytest.raises(InputError, match=r"wide\.csv: row 2, column 'toy/2': correct must be 0/1 or a score in \[0, 1\], got 'maybe' for subject 'm2'"):
        read_outcomes(tmp_path / "wide.csv", battery=battery)
    (tmp_path / "wide.csv").write_text("model,toy/1,ghost/3\nm1,1,0\n")
    with pytest.raises(InputError, match=r"wide\.csv: column 'ghost/3': instance column not in the battery \(1 such columns\)"):
        read_outcomes(tmp_path / "wide.csv", battery=battery)
