"""Batch import counts each repair once: old results files re-imported, answers to superseded prompts,
exhausted failures; and a partial import keeps the levels and provenance of rows it did not answer."""
from __future__ import annotations

import pandas as pd
import pytest

from annotate_fixtures import (BATCH_SCALES, batch_cli, export_batch, json_answer, workspace,  # noqa: F401 (fixture)
                               write_results)
from assess.annotate import AnnotationJob, AnnotationStore, RunSummary, import_results, load_annotator
from assess.rubrics import load_rubrics
from assess.sources import read_battery

VALID = json_answer({"QLq": 3, "QLl": 1, "UG": 90})


def _import(directory, results, retry_failures: bool = False) -> tuple[RunSummary, dict]:
    """Import through the library; return the summary and the stored answers by instance id."""
    config = load_annotator(directory / "batch.yaml")
    job = AnnotationJob.build(read_battery(directory / "battery.csv"), config, load_rubrics(),
                              BATCH_SCALES.split(","), "all-scales")
    with AnnotationStore(directory / "cache.sqlite") as store:
        summary = import_results(job.requests, store, config, results, retry_failures=retry_failures)
        answers = store.get(r.key for r in job.requests)
    return summary, {a.instance_id: a for a in answers.values()}


def test_reimporting_the_same_file_records_nothing_new(workspace, capsys):
    ids = [r["custom_id"] for r in export_batch(workspace)]
    results = write_results(workspace / "results.jsonl", {ids[0]: VALID, ids[1]: "I cannot decide."})
    first, stored = _import(workspace, results)
    assert (first.calls, first.answered, first.cache_hits, first.stale) == (2, 1, 0, 0)
    for _ in range(2):
        again, stored = _import(workspace, results)
        assert (again.calls, again.cache_hits, again.stale) == (0, 1, 1)
    assert (stored["t/1"].status, stored["t/1"].attempts) == ("ok", 1)
    assert (stored["t/2"].status, stored["t/2"].attempts) == ("failed", 1)
    assert [r["custom_id"] for r in export_batch(workspace)] == [f"{ids[1]}:r1", ids[2]]
    assert batch_cli(workspace, "--import-results", str(results)) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "1 result line(s) ignored: they answer an earlier prompt of a request that has failed since" in err


def test_answer_to_the_original_prompt_after_a_failure_is_not_a_repair(workspace):
    ids = [r["custom_id"] for r in export_batch(workspace)]
    out_of_range = json_answer({"QLq": 7, "QLl": 1, "UG": 9})
    _, stored = _import(workspace, write_results(workspace / "a.jsonl", {ids[0]: out_of_range}))
    assert "QLq: level 7 is outside 0-5" in stored["t/1"].error
    late = write_results(workspace / "late.jsonl", {ids[0]: VALID})
    summary, stored = _import(workspace, late)
    assert (summary.stale, summary.calls) == (1, 0)
    assert (stored["t/1"].status, stored["t/1"].attempts) == ("failed", 1)
    summary, stored = _import(workspace, write_results(workspace / "r2.jsonl", {f"{ids[0]}:r2": VALID}))
    assert summary.stale == 1 and stored["t/1"].attempts == 1  # a repair that was never asked for

    repair = write_results(workspace / "r1.jsonl", {f"{ids[0]}:r1": VALID})
    summary, stored = _import(workspace, repair)
    assert (summary.calls, summary.repairs, summary.answered) == (1, 1, 1)
    assert (stored["t/1"].status, stored["t/1"].attempts, stored["t/1"].levels["QLq"]) == ("ok", 2, 3)
    summary, stored = _import(workspace, repair)
    assert (summary.cache_hits, summary.calls) == (1, 0) and stored["t/1"].attempts == 2


def test_exhausted_failures_are_only_retried_with_retry_failures(workspace):
    ids = [r["custom_id"] for r in export_batch(workspace)]
    first = write_results(workspace / "first.jsonl", {ids[0]: "no idea"})
    repair = write_results(workspace / "repair.jsonl", {f"{ids[0]}:r1": "still no idea"})
    for results in (first, repair, first, repair):
        _, stored = _import(workspace, results)
    assert (stored["t/1"].status, stored["t/1"].attempts) == ("failed", 2)
    assert [r["custom_id"] for r in export_batch(workspace)] == ids[1:]

    retried = export_batch(workspace, "retry.jsonl", "--retry-failures")
    assert [r["custom_id"] for r in retried] == [f"{ids[0]}:r2", *ids[1:]]
    retry = write_results(workspace / "retry_answers.jsonl", {f"{ids[0]}:r2": VALID})
    summary, stored = _import(workspace, retry)
    assert summary.stale == 1 and stored["t/1"].attempts == 2
    summary, stored = _import(workspace, retry, retry_failures=True)
    assert summary.answered == 1 and (stored["t/1"].status, stored["t/1"].attempts) == ("ok", 3)


@pytest.mark.parametrize("suffix", [":rX", ":r0", ":r", "-r1"])
def test_malformed_repair_ids_match_no_request(workspace, capsys, suffix):
    ids = [r["custom_id"] for r in export_batch(workspace)]
    write_results(workspace / "bad.jsonl", {ids[0] + suffix: VALID})
    assert batch_cli(workspace, "--import-results", str(workspace / "bad.jsonl")) == 2
    assert f"line 1: custom_id '{ids[0]}{suffix}' matches no request" in " ".join(capsys.readouterr().err.split())


def _annotated_before(directory) -> pd.DataFrame:
    """Give the fixture battery earlier levels and provenance, as if annotated by someone else."""
    battery = pd.read_csv(directory / "battery.csv")
    battery[["QLq", "QLl", "UG", "CEc"]] = [[1.0, 2.0, 30.0, 4.0], [2.0, 3.0, 40.0, 5.0], [0.0, 0.0, 50.0, 1.0]]
    battery["annotator"], battery["annotation_protocol"], battery["rubric_hash"] = "earlier", "per-scale/v0", "abc"
    battery.to_csv(directory / "battery.csv", index=False)
    return battery


def test_partial_import_keeps_rows_it_did_not_answer(workspace, capsys):
    before = _annotated_before(workspace)
    ids = [r["custom_id"] for r in export_batch(workspace)]
    write_results(workspace / "some.jsonl", {ids[0]: VALID, ids[1]: "unsure"})
    out = workspace / "annotated.csv"
    assert batch_cli(workspace, "--import-results", str(workspace / "some.jsonl"), "--out", str(out)) == 0
    table = pd.read_csv(out)
    assert table.loc[0, ["QLq", "QLl", "UG", "CEc"]].tolist() == [3.0, 1.0, 90.0, 4.0]
    assert table.loc[0, ["annotator", "annotation_protocol"]].tolist() == ["batch-test", "all-scales/v1"]
    assert len(table.loc[0, "rubric_hash"]) == 64
    provenance = ["QLq", "QLl", "UG", "CEc", "annotator", "annotation_protocol", "rubric_hash"]
    pd.testing.assert_frame_equal(table.loc[1:, provenance], before.loc[1:, provenance])
    err = " ".join(capsys.readouterr().err.split())
    assert "2 row(s) got no usable answer from this job; 2 of them kept their earlier levels and provenance" in err


def test_per_scale_import_keeps_the_scales_it_did_not_answer(workspace):
    before = _annotated_before(workspace)
    args = ["--scales", "QLq,UG", "--mode", "per-scale"]
    requests = export_batch(workspace, "requests.jsonl", *args)
    qlq_t1 = next(r["custom_id"] for r in requests if "17 * 23" in (text := r["body"]["messages"][1]["content"])
                  and "Scale QLq:" in text)
    write_results(workspace / "one.jsonl", {qlq_t1: "Reasoning.\nLevel: 4"})
    out = workspace / "annotated.csv"
    assert batch_cli(workspace, *args, "--import-results", str(workspace / "one.jsonl"), "--out", str(out)) == 0
    table = pd.read_csv(out)
    assert table.loc[0, ["QLq", "UG", "annotator"]].tolist() == [4.0, 30.0, "batch-test"]
    assert table.loc[0, "annotation_protocol"] == "per-scale/v1"
    assert table.loc[1:, ["QLq", "UG", "annotator"]].equals(before.loc[1:, ["QLq", "UG", "annotator"]])
