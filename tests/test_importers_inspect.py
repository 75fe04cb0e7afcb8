"""Inspect AI JSON eval logs → outcomes joined to the sample battery, with an unmatched report."""
from __future__ import annotations

import pandas as pd
import pytest

from assess.cli import main
from assess.errors import InputError
from assess.importers.inspect_log import read_inspect_log
from assess.importers.matching import match_records
from importers_fixtures import inspect_log, inspect_sample, prompt_of, sample_battery, write_json  # noqa: F401


@pytest.fixture
def log_file(tmp_path, sample_battery):
    samples = [
        inspect_sample(1, prompt_of(sample_battery, "bbh/navigate/0"), "No", "No", "C"),
        inspect_sample(2, prompt_of(sample_battery, "bbh/navigate/1"), "No", "Yes", "I", as_messages=True),
        inspect_sample(3, f"Answer the question.\n\n{prompt_of(sample_battery, 'bbh/navigate/2')}", "No", "", "N"),
        inspect_sample(4, "A question from another benchmark entirely?", "Yes", "Yes", "C"),
    ]
    return write_json(tmp_path / "2025-01-01T00-00-00_bbh-navigate_abc.json", inspect_log(samples))


def test_samples_become_outcomes_matched_by_prompt(log_file, sample_battery) -> None:
    records = read_inspect_log(log_file)
    assert set(records["subject"]) == {"hf/meta-llama/Llama-3.1-8B-Instruct"}
    assert list(records["raw_output"]) == ["ANSWER: No", "ANSWER: Yes", "ANSWER: ", "ANSWER: Yes"]
    result = match_records(records, sample_battery, by="prompt")
    assert dict(zip(result.outcomes["instance_id"], result.outcomes["correct"])) == {
        "bbh/navigate/0": 1, "bbh/navigate/1": 0, "bbh/navigate/2": 0}
    (missing,) = result.unmatched.to_dict("records")
    assert (missing["row"], missing["record_id"]) == (4, "4")


def test_subject_override_and_matching_by_id(log_file, sample_battery) -> None:
    records = read_inspect_log(log_file, subject="llama-8b")
    result = match_records(records, sample_battery, by="id", id_prefix="bbh/navigate/")
    assert set(result.outcomes["subject"]) == {"llama-8b"}
    assert list(result.outcomes["instance_id"]) == [f"bbh/navigate/{i}" for i in (1, 2, 3, 4)]


def test_epochs_are_kept_as_attempts_or_read_one_at_a_time(tmp_path) -> None:
    samples = [inspect_sample(1, "Q?", "A", "A", "C", epoch=e) for e in (1, 3)]
    samples += [inspect_sample(1, "Q?", "A", "B", "I", epoch=2), inspect_sample(2, "R?", "A", "A", "C", epoch=1)]
    path = write_json(tmp_path / "log.json", inspect_log(samples))
    every = read_inspect_log(path).set_index("record_id")
    assert every.loc["1", ["successes", "trials", "correct"]].tolist() == [2.0, 3.0, pytest.approx(2 / 3)]
    assert every.loc["2", ["successes", "trials", "correct"]].tolist() == [1.0, 1.0, 1.0]
    assert list(read_inspect_log(path, epoch=1)["correct"]) == [1, 1]
    assert read_inspect_log(path, epoch=1)["trials"].isna().all()
    assert list(read_inspect_log(path, epoch=2)["correct"]) == [0]
    with pytest.raises(InputError, match="no sample of epoch 4"):
        read_inspect_log(path, epoch=4)


@pytest.mark.parametrize("value, correct", [(1, 1), (0.0, 0), (True, 1), (False, 0), ("P", 0.5), (0.25, 0.25)])
def test_numeric_and_boolean_score_values(tmp_path, value, correct: int) -> None:
    path = write_json(tmp_path / "log.json", inspect_log([inspect_sample("a", "Q?", "A", "A", value)]))
    assert list(read_inspect_log(path)["correct"]) == [correct]


def test_scorer_choice(tmp_path) -> None:
    sample = inspect_sample("a", "Q?", "A", "A", "C")
    sample["scores"]["model_graded_qa"] = {"value": "I"}
    path = write_json(tmp_path / "log.json", inspect_log([sample]))
    with pytest.raises(InputError, match="sample 1 \\(id 'a'\\) has several scorers \\(match, model_graded_qa\\)"):
        read_inspect_log(path)
    assert list(read_inspect_log(path, scorer="model_graded_qa")["correct"]) == [0]
    with pytest.raises(InputError, match="has no scorer 'includes'"):
        read_inspect_log(path, scorer="includes")


@pytest.mark.parametrize("mutate, message", [
    (lambda log: log["samples"][0]["scores"]["match"].update(value="X"), "sample 1 \\(id 'a'\\): score 'match' is 'X'"),
    (lambda log: log["samples"][0]["scores"]["match"].update(value=1.5), "score 'match' is 1.5, which is not a score"),
    (lambda log: log["samples"][0].pop("scores"), "sample 1 \\(id 'a'\\) has no scores"),
    (lambda log: log.update(samples=[]), "the log has no samples \\(status 'success'\\)"),
    (lambda log: log.pop("eval"), "not an Inspect eval log"),
])
def test_bad_logs_are_named(tmp_path, mutate, message: str) -> None:
    log = inspect_log([inspect_sample("a", "Q?", "A", "A", "C")])
    mutate(log)
    with pytest.raises(InputError, match=message):
        read_inspect_log(write_json(tmp_path / "log.json", log))


def test_binary_eval_logs_point_to_the_converter(tmp_path) -> None:
    path = tmp_path / "log.eval"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match="inspect log convert --to json"):
        read_inspect_log(path)


def test_cli_import_inspect(tmp_path, log_file, capsys) -> None:
    out = tmp_path / "inspect.csv"
    assert main(["import", "inspect", str(log_file), "--by", "prompt", "-o", str(out)]) == 0
    assert len(pd.read_csv(out)) == 3
    assert len(pd.read_csv(tmp_path / "inspect.unmatched.csv")) == 1
    assert main(["import", "inspect", str(log_file), "--by", "text", "-o", str(out)]) == 2
    assert "match by 'id' or 'prompt', not 'text'" in capsys.readouterr().err
