"""Outcome files in other column layouts: `outcomes_mapping`, and a layout guess that names what is missing."""
from __future__ import annotations

import json

import pytest
import yaml

from assess.cli import main
from assess.errors import InputError
from assess.sources import read_outcomes


def test_read_outcomes_with_a_column_mapping(tmp_path, battery, outcomes) -> None:
    theirs = outcomes.rename(columns={"subject": "model_id", "instance_id": "item", "correct": "is_correct"})
    theirs.to_csv(tmp_path / "o.csv", index=False)
    got = read_outcomes(tmp_path / "o.csv", battery=battery,
                        mapping={"subject": "model_id", "instance_id": "item", "correct": "is_correct"})
    assert len(got) == len(outcomes) and got["correct"].sum() == outcomes["correct"].sum()
    with pytest.raises(InputError, match="column mapping for 'correct' names column 'passed', which the file lacks"):
        read_outcomes(tmp_path / "o.csv", mapping={"correct": "passed"})


def test_a_long_table_without_correct_is_named_as_such(tmp_path, battery, outcomes) -> None:
    outcomes.rename(columns={"correct": "is_correct"}).to_csv(tmp_path / "o.csv", index=False)
    with pytest.raises(InputError, match=r"o\.csv: column 'correct': long outcome table lacks the column 'correct' "
                                         r"\(columns: subject, instance_id, is_correct\); name yours with outcomes_mapping"):
        read_outcomes(tmp_path / "o.csv", battery=battery)
    outcomes.drop(columns="subject").rename(columns={"correct": "ok"}).to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(InputError, match="per-subject outcome table lacks the column 'correct'"):
        read_outcomes(tmp_path / "p.csv", battery=battery)


def test_neither_long_nor_wide_is_named(tmp_path, battery, outcomes) -> None:
    outcomes.rename(columns={"instance_id": "item", "correct": "ok"}).to_csv(tmp_path / "o.csv", index=False)
    with pytest.raises(InputError, match="not a long or per-subject outcome table .* and not a wide matrix"):
        read_outcomes(tmp_path / "o.csv", battery=battery)


def test_profile_reads_outcomes_mapping_from_model_yaml(tmp_path, battery, outcomes, capsys) -> None:
    battery.to_csv(tmp_path / "battery.csv", index=False)
    outcomes.rename(columns={"subject": "model_name", "correct": "passed"}).to_csv(tmp_path / "o.csv", index=False)
    config = {"subject": "strong", "battery": "battery.csv", "outcomes": "o.csv", "output_dir": "out", "bootstrap": 0}
    (tmp_path / "bare.yaml").write_text(yaml.safe_dump(config))
    assert main(["profile", str(tmp_path / "bare.yaml")]) == 2
    assert "lacks the column 'correct'" in capsys.readouterr().err
    (tmp_path / "model.yaml").write_text(yaml.safe_dump({**config, "outcomes_mapping": {"correct": "passed"}}))
    assert main(["profile", str(tmp_path / "model.yaml")]) == 0
    assert json.loads((tmp_path / "out" / "abilities.json").read_text())["n_instances"] == 600
