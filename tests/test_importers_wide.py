"""Wide 0/1 outcome matrices in both orientations, and the matching rules every importer shares."""
from __future__ import annotations

import pandas as pd
import pytest

from assess.cli import main
from assess.errors import InputError
from assess.importers.matching import RECORD_COLUMNS, match_records, normalise_prompt
from assess.importers.wide import read_wide

BATTERY = pd.DataFrame({
    "instance_id": ["b/0", "b/1", "b/2", "b/3", "b/4"],
    "prompt": ["What is 2 + 2?\n\nA. 3\nB. 4", "What is 2 + 2?\n\nA. 3\nB. 4", "Name a prime.", "True and False is",
               "Which planet is largest?\n\nA. Mars\nB. Jupiter"],
})


def test_subjects_as_rows(tmp_path) -> None:
    path = tmp_path / "matrix.csv"
    path.write_text("model,b/0,b/2,b/9\nalpha,1,0,1\nbeta,,true,0\n")
    records = read_wide(path)
    assert list(records.columns) == list(RECORD_COLUMNS)
    assert list(zip(records["subject"], records["record_id"], records["correct"], records["row"])) == [
        ("alpha", "b/0", 1, 1), ("alpha", "b/2", 0, 1), ("beta", "b/2", 1, 2), ("alpha", "b/9", 1, 1),
        ("beta", "b/9", 0, 2)]
    result = match_records(records, BATTERY)
    assert len(result.outcomes) == 3
    assert list(result.unmatched["reason"]) == ["id 'b/9' not in battery"] * 2


def test_instances_as_rows(tmp_path) -> None:
    path = tmp_path / "matrix.csv"
    path.write_text("instance_id,alpha,beta\n0,1,0\n2,0,\n")
    records = read_wide(path, "instances-as-rows")
    result = match_records(records, BATTERY, id_prefix="b/")
    assert sorted(zip(result.outcomes["subject"], result.outcomes["instance_id"], result.outcomes["correct"])) == [
        ("alpha", "b/0", 1), ("alpha", "b/2", 0), ("beta", "b/0", 0)]


def test_a_bad_cell_is_located(tmp_path) -> None:
    path = tmp_path / "matrix.csv"
    path.write_text("subject,b/0,b/1\nalpha,1,0\nbeta,maybe,1\n")
    with pytest.raises(InputError, match="matrix.csv: row 2, column 'b/0': cell is 'maybe', not 0/1 or a score in \\[0, 1\\]"):
        read_wide(path)


def test_unknown_orientation_is_refused(tmp_path) -> None:
    path = tmp_path / "matrix.csv"
    path.write_text("subject,b/0\nalpha,1\n")
    with pytest.raises(InputError, match="unknown orientation 'columns'"):
        read_wide(path, "columns")  # type: ignore[arg-type]


def records(*rows: tuple[str, str]) -> pd.DataFrame:
    """Records of subject 'm' with the given (record_id, text), all correct."""
    return pd.DataFrame([{"source": "log", "row": i + 1, "subject": "m", "record_id": rid, "text": text,
                          "correct": 1, "raw_output": "x"} for i, (rid, text) in enumerate(rows)],
                        columns=list(RECORD_COLUMNS))


def test_prompt_matching_rules() -> None:
    result = match_records(records(
        ("r1", "  name A  PRIME. "),                                      # exact after normalisation
        ("r2", "Solve:\nWhich planet is largest?\n\nA. Mars\nB. Jupiter\nAnswer:"),  # contained
        ("r3", "Which planet"),                                           # unique prefix — but b/4 taken
        ("r4", "What is 2 + 2?\n\nA. 3\nB. 4"),                           # two items share this prompt
        ("r5", "Q: True and False is\nA:"),                               # a short prompt, contained
        ("r6", ""),
    ), BATTERY, by="prompt")
    assert list(result.outcomes["instance_id"]) == ["b/2", "b/4", "b/3"]
    reasons = dict(zip(result.unmatched["record_id"], result.unmatched["reason"]))
    assert reasons["r3"] == "'b/4' already matched by log row 2 for this subject"
    assert reasons["r4"].startswith("ambiguous: 2 battery items match (exact)")
    assert reasons["r6"] == "no prompt text in the record"


def test_the_longest_prompt_ending_last_wins() -> None:
    battery = pd.DataFrame({"instance_id": ["s", "l"], "prompt": ["False is", "True and False is"]})
    result = match_records(records(("r", "Q: True and False is\nA:")), battery, by="prompt")
    assert list(result.outcomes["instance_id"]) == ["l"]


def test_normalise_prompt() -> None:
    assert normalise_prompt("  A\n\nb\tC ") == "a b c"


def test_cli_import_wide(tmp_path, capsys) -> None:
    battery = tmp_path / "battery.csv"
    BATTERY.to_csv(battery, index=False)
    matrix = tmp_path / "matrix.csv"
    matrix.write_text("model,b/0,b/2,b/7\nalpha,1,0,1\n")
    out = tmp_path / "wide.csv"
    assert main(["import", "wide", str(matrix), "--battery", str(battery), "-o", str(out)]) == 0
    assert len(pd.read_csv(out)) == 2
    assert pd.read_csv(tmp_path / "wide.unmatched.csv")["reason"].tolist() == ["id 'b/7' not in battery"]
    assert "2 outcomes matched, 1 rows unmatched" in capsys.readouterr().err
