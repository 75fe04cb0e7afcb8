"""lm-evaluation-harness --log_samples files → outcomes joined to the sample battery, with an unmatched report."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from assess.cli import main
from assess.errors import InputError
from assess.importers.lm_eval import read_lm_eval_samples
from assess.importers.matching import match_records
from importers_fixtures import (bbh_generate_line, mmlu_loglikelihood_line, sample_battery,  # noqa: F401 (fixture)
                                write_jsonl)


@pytest.fixture
def bbh_file(tmp_path, sample_battery):
    lines = []
    for doc_id, correct in [(0, True), (1, False), (2, True)]:
        for filter_name in ("get-answer", "flexible-extract"):
            lines.append(bbh_generate_line(sample_battery, doc_id, "No" if correct else "Yes", correct,
                                           filter_name=filter_name))
    lines.append(bbh_generate_line(sample_battery, 9999, "Yes", True, question="Is this question in the battery?"))
    return write_jsonl(tmp_path / "samples_bbh_cot_fewshot_navigate_2025-01-01T00-00-00.jsonl", lines)


def test_by_id_with_prefix_and_a_chosen_filter(bbh_file, sample_battery) -> None:
    records = read_lm_eval_samples(bbh_file, "llama-3.1-8b", filter_name="get-answer")
    assert len(records) == 4 and set(records["row"]) == {1, 3, 5, 7}
    result = match_records(records, sample_battery, by="id", id_prefix="bbh/navigate/")
    assert list(result.outcomes["instance_id"]) == ["bbh/navigate/0", "bbh/navigate/1", "bbh/navigate/2"]
    assert list(result.outcomes["correct"]) == [1, 0, 1]
    assert list(result.outcomes["raw_output"]) == ["No", "Yes", "No"]
    (missing,) = result.unmatched.to_dict("records")
    assert missing["row"] == 7 and missing["record_id"] == "9999"
    assert missing["reason"] == "id 'bbh/navigate/9999' not in battery"
    assert missing["source"] == str(bbh_file)


def test_by_prompt_finds_the_question_after_the_fewshot_demonstrations(bbh_file, sample_battery) -> None:
    records = read_lm_eval_samples(bbh_file, "llama-3.1-8b", filter_name="get-answer")
    result = match_records(records, sample_battery, by="prompt")
    assert list(result.outcomes["instance_id"]) == ["bbh/navigate/0", "bbh/navigate/1", "bbh/navigate/2"]
    assert len(result.unmatched) == 1
    assert "no battery prompt equals, is contained in or starts with its text" in result.unmatched["reason"].iloc[0]
    # the report keeps the text as logged, not its normalised form
    assert result.unmatched["text"].iloc[0].startswith("Q: If you follow these instructions")


def test_loglikelihood_task_with_ids_from_the_doc(tmp_path, sample_battery) -> None:
    path = write_jsonl(tmp_path / "samples_mmlu_2025.jsonl", [
        mmlu_loglikelihood_line(sample_battery, 0, 70, chosen=8, answer_index=8),
        mmlu_loglikelihood_line(sample_battery, 1, 71, chosen=0, answer_index=5),
    ])
    records = read_lm_eval_samples(path, "pythia-160m", id_field="question_id")
    result = match_records(records, sample_battery, id_prefix="mmlu_pro/")
    assert list(result.outcomes["correct"]) == [1, 0] and result.unmatched.empty
    assert json.loads(result.outcomes["raw_output"].iloc[0])[8] == [-2.8, True]
    by_acc_norm = read_lm_eval_samples(path, "pythia-160m", metric="acc_norm", id_field="question_id")
    assert list(by_acc_norm["correct"]) == [1, 1]
    # the logged question has no options: matched as the unique battery prompt it starts
    by_prompt = match_records(read_lm_eval_samples(path, "pythia-160m", text_field="question"), sample_battery,
                              by="prompt")
    assert list(by_prompt.outcomes["instance_id"]) == ["mmlu_pro/70", "mmlu_pro/71"]


def test_several_filters_must_be_chosen(bbh_file) -> None:
    with pytest.raises(InputError, match="several filters \\(flexible-extract, get-answer\\); choose one with --filter"):
        read_lm_eval_samples(bbh_file, "m")


@pytest.mark.parametrize("change, message", [
    (lambda line: line.pop("exact_match"), "none of the metrics acc, exact_match, .* \\(declared: exact_match\\)"),
    (lambda line: line.update(exact_match=1.5), r"row 1.*metric 'exact_match' is 1.5, not 0/1 or a score in \[0, 1\]"),
    (lambda line: line.pop("doc_id"), "row 1.*missing field 'doc_id'"),
])
def test_bad_lines_are_named(tmp_path, sample_battery, change, message: str) -> None:
    line = bbh_generate_line(sample_battery, 0, "No", True)
    change(line)
    path = write_jsonl(tmp_path / "samples_x.jsonl", [line])
    with pytest.raises(InputError, match=message):
        read_lm_eval_samples(path, "m")


def test_malformed_json_line_is_named(tmp_path) -> None:
    path = tmp_path / "samples_bad.jsonl"
    path.write_text('{"doc_id": 0, "exact_match": 1}\n{"doc_id": 1, oops}\n')
    with pytest.raises(InputError, match="samples_bad.jsonl.*line 2: malformed JSON"):
        read_lm_eval_samples(path, "m")


def test_cli_writes_outcomes_and_the_unmatched_report(tmp_path, bbh_file, capsys) -> None:
    out = tmp_path / "imported" / "llama.parquet"
    code = main(["import", "lm-eval", str(bbh_file), "--subject", "llama-3.1-8b", "--filter", "get-answer",
                 "--id-prefix", "bbh/navigate/", "-o", str(out)])
    assert code == 0
    assert len(pd.read_parquet(out)) == 3
    report = pd.read_csv(tmp_path / "imported" / "llama.unmatched.csv")
    assert list(report["record_id"]) == [9999]
    assert "3 outcomes matched, 1 rows unmatched" in capsys.readouterr().err


def test_cli_error_exits_2_with_the_message(tmp_path, bbh_file, capsys) -> None:
    code = main(["import", "lm-eval", str(bbh_file), "--subject", "m", "-o", str(tmp_path / "o.csv")])
    assert code == 2 and "choose one with --filter" in capsys.readouterr().err


def test_repeated_samples_keep_their_attempts(tmp_path, sample_battery) -> None:
    """A document answered 4 times (``repeats``) whose score is 3/4 keeps 3 successes of 4 trials; a score
    that is no count over the responses stays a graded score."""
    counted = bbh_generate_line(sample_battery, 0, "No", True)
    counted.update(filtered_resps=[["No", "No", "Yes", "No"]], exact_match=0.75)
    graded = bbh_generate_line(sample_battery, 1, "Yes", False)
    graded.update(exact_match=0.4)
    path = write_jsonl(tmp_path / "samples_repeats.jsonl", [counted, graded])
    result = match_records(read_lm_eval_samples(path, "m"), sample_battery, id_prefix="bbh/navigate/")
    outcomes = result.outcomes.set_index("instance_id")
    assert outcomes.loc["bbh/navigate/0", ["successes", "trials", "correct"]].tolist() == [3.0, 4.0, 0.75]
    assert outcomes.loc["bbh/navigate/1", ["successes", "trials", "correct"]].tolist() == [0.4, 1.0, 0.4]
