"""Harness layouts recognised without id flags: lm-eval's and Inspect's MMLU-Pro and BBH tasks.

Fixtures follow the harnesses' own output: lm-eval names the task only in the file name
(``samples_mmlu_pro_biology_<timestamp>.jsonl``) and numbers ``doc_id`` within each category; the
doc carries ``question_id``. Inspect's mmlu_pro uses the question_id as sample id; its bbh numbers
samples ``<task>_001`` from 1.
"""
from __future__ import annotations

import pandas as pd
import pytest

from assess.cli import main
from assess.importers.inspect_log import read_inspect_log
from assess.importers.layouts import inspect_battery_id, lm_eval_battery_id, lm_eval_task
from assess.importers.lm_eval import read_lm_eval_samples
from assess.importers.matching import match_records, suggest_id_flags
from importers_fixtures import (bbh_generate_line, inspect_bbh_sample, inspect_log, inspect_mmlu_pro_sample,  # noqa: F401
                                lm_eval_mmlu_pro_line, mmlu_pro_doc, sample_battery, write_json, write_jsonl)

STAMP = "2025-03-14T09-26-53.589793"


@pytest.fixture
def biology(sample_battery) -> list[dict]:
    ids = sample_battery.loc[sample_battery["task"] == "biology", "instance_id"].head(4)
    return [mmlu_pro_doc(sample_battery, int(i.split("/")[1])) for i in ids]


@pytest.fixture
def mmlu_pro_file(tmp_path, biology):
    lines = [lm_eval_mmlu_pro_line(doc, doc_id, letter) for doc_id, (doc, letter)
             in enumerate(zip(biology, [biology[0]["answer"], "A", biology[2]["answer"], "J"]))]
    return write_jsonl(tmp_path / f"samples_mmlu_pro_biology_{STAMP}.jsonl", lines)


def test_task_names_from_lm_eval_file_names(tmp_path) -> None:
    assert lm_eval_task(tmp_path / f"samples_mmlu_pro_biology_{STAMP}.jsonl") == "mmlu_pro_biology"
    assert lm_eval_task(tmp_path / f"samples_bbh_cot_fewshot_navigate_{STAMP}.jsonl") == "bbh_cot_fewshot_navigate"
    assert lm_eval_task(tmp_path / "samples.jsonl") == ""
    assert lm_eval_battery_id("leaderboard_bbh_navigate", 3, {}) == "bbh/navigate/3"
    assert lm_eval_battery_id("bbh_zeroshot_web_of_lies", 0, {}) == "bbh/web_of_lies/0"
    assert lm_eval_battery_id("mmlu_pro_law", 0, {"question_id": 5}) == "mmlu_pro/5"
    assert lm_eval_battery_id("arc_easy", 0, {"id": "x"}) == ""
    assert inspect_battery_id("inspect_evals/bbh", "tracking_shuffled_objects_three_objects_010", {}) == \
        "bbh/tracking_shuffled_objects_three_objects/9"
    assert inspect_battery_id("bbh", 4, {"dataset_name": "snarks"}) == "bbh/snarks/3"
    assert inspect_battery_id("assess/battery", "toy/1", {"instance_id": "toy/1"}) == "toy/1"


def test_lm_eval_mmlu_pro_matches_by_question_id_without_flags(tmp_path, mmlu_pro_file, biology, capsys) -> None:
    out = tmp_path / "out.csv"
    assert main(["import", "lm-eval", str(mmlu_pro_file), "--subject", "llama", "-o", str(out)]) == 0
    outcomes = pd.read_csv(out)
    assert outcomes["instance_id"].tolist() == [f"mmlu_pro/{d['question_id']}" for d in biology]
    assert outcomes["correct"].tolist() == [1, 0, 1, 0]
    assert "4 outcomes matched, 0 rows unmatched" in capsys.readouterr().err


def test_per_category_doc_ids_fail_loudly_and_name_the_flags(tmp_path, mmlu_pro_file, capsys) -> None:
    # the old recipe: doc_id with a prefix lands on the wrong items or none; under half matched → exit 2
    out = tmp_path / "out.csv"
    renamed = mmlu_pro_file.rename(tmp_path / "samples.jsonl")  # no task in the name: no layout to recognise
    for args in (["--id-prefix", "mmlu_pro/"], []):
        assert main(["import", "lm-eval", str(renamed), "--subject", "llama", *args, "-o", str(out)]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert "only 0 of 4 records matched the battery (by id)" in err
        assert "`--by id --id-field question_id --id-prefix mmlu_pro/` would match 4" in err
        assert not out.exists()
    report = pd.read_csv(tmp_path / "out.unmatched.csv")
    assert report["record_id"].tolist() == [0, 1, 2, 3] and report["tried_id"].astype(str).iloc[0] == "0"
    assert report["text"].iloc[0].startswith("The following are multiple choice questions (with answers) about biology")
    assert main(["import", "lm-eval", str(renamed), "--subject", "llama", "--id-field", "question_id",
                 "--id-prefix", "mmlu_pro/", "-o", str(out)]) == 0


def test_suggestion_picks_field_and_prefix(tmp_path, mmlu_pro_file, sample_battery) -> None:
    records = read_lm_eval_samples(mmlu_pro_file, "m")
    best = suggest_id_flags(records, sample_battery)
    assert (best.field, best.prefix, best.matches) == ("question_id", "mmlu_pro/", 4)
    assert best.flags("doc_id") == "--id-field question_id --id-prefix mmlu_pro/"


def test_lm_eval_bbh_task_layout(tmp_path, sample_battery) -> None:
    lines = [bbh_generate_line(sample_battery, i, "No", True) for i in range(3)]
    path = write_jsonl(tmp_path / f"samples_bbh_cot_fewshot_navigate_{STAMP}.jsonl", lines)
    result = match_records(read_lm_eval_samples(path, "m"), sample_battery)
    assert result.outcomes["instance_id"].tolist() == [f"bbh/navigate/{i}" for i in range(3)]


def test_inspect_mmlu_pro_and_bbh_layouts(tmp_path, biology, sample_battery) -> None:
    mmlu = inspect_log([inspect_mmlu_pro_sample(doc, "A") for doc in biology])
    mmlu["eval"]["task"] = "inspect_evals/mmlu_pro"
    result = match_records(read_inspect_log(write_json(tmp_path / "mmlu.json", mmlu)), sample_battery)
    assert result.outcomes["instance_id"].tolist() == [f"mmlu_pro/{d['question_id']}" for d in biology]
    assert result.outcomes["correct"].tolist() == [int(d["answer"] == "A") for d in biology]
    bbh = inspect_log([inspect_bbh_sample(sample_battery, "navigate", i, "Yes") for i in range(3)])
    bbh["eval"].update(task="inspect_evals/bbh", task_args={"subset_name": "navigate", "prompt_type": "answer_only"})
    result = match_records(read_inspect_log(write_json(tmp_path / "bbh.json", bbh)), sample_battery)
    assert result.outcomes["instance_id"].tolist() == [f"bbh/navigate/{i}" for i in range(3)]
    assert result.unmatched.empty


def test_inspect_id_field_from_metadata(tmp_path, sample_battery) -> None:
    sample = inspect_bbh_sample(sample_battery, "navigate", 0, "Yes")
    sample["metadata"]["item"] = "bbh/navigate/0"
    path = write_json(tmp_path / "log.json", inspect_log([sample]))
    records = read_inspect_log(path, id_field="item")
    assert match_records(records, sample_battery).outcomes["instance_id"].tolist() == ["bbh/navigate/0"]
