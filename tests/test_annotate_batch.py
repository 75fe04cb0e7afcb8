"""The two-step batch-file workflow end to end through the CLI: export, answer, import, repair, write."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from annotate_fixtures import batch_cli, export_batch, json_answer, workspace, write_results  # noqa: F401 (fixture)
from assess.cli import main


def test_export_import_repair_and_write(workspace, capsys):
    requests = export_batch(workspace)
    assert len(requests) == 3
    first = requests[0]
    assert first["method"] == "POST" and first["url"] == "/v1/chat/completions"
    assert first["body"]["model"] == "gpt-test"
    assert "RUBRIC QLq" in first["body"]["messages"][1]["content"]
    assert "17 * 23" in first["body"]["messages"][1]["content"]
    ids = [r["custom_id"] for r in requests]
    assert len(set(ids)) == 3 and all(len(i) == 64 for i in ids)
    # export is deterministic: the same battery gives the same ids and bodies
    assert export_batch(workspace, "again.jsonl") == requests

    message = {"role": "assistant", "content": json_answer({"QLq": 3, "QLl": 1, "UG": 99})}
    provider_line = {"id": "batch_req_1", "custom_id": ids[0], "error": None,
                     "response": {"status_code": 200, "request_id": "r1",
                                  "body": {"choices": [{"message": message}],
                                           "usage": {"prompt_tokens": 900, "completion_tokens": 40}}}}
    hand_line = {"custom_id": ids[1], "content": json_answer({"QLq": 0, "QLl": "2", "UG": "50%"})}
    garbage_line = {"custom_id": ids[2], "content": "I cannot decide."}
    results = workspace / "results.jsonl"
    results.write_text("\n".join(json.dumps(x) for x in (provider_line, hand_line, garbage_line)) + "\n")
    out = workspace / "annotated.csv"
    assert batch_cli(workspace, "--import-results", str(results), "--out", str(out),
                "--failures", str(workspace / "failures.csv")) == 0
    table = pd.read_csv(out)
    assert table.loc[0, ["QLq", "QLl", "UG"]].tolist() == [3.0, 1.0, 99.0]
    assert table.loc[1, ["QLq", "QLl", "UG"]].tolist() == [0.0, 2.0, 50.0]
    assert all(math.isnan(v) for v in table.loc[2, ["QLq", "QLl", "UG"]])
    assert table["CEc"].isna().all()  # never asked: never defaulted
    # provenance on the answered rows; the failed row keeps its earlier (empty) provenance
    assert table["annotator"].fillna("").tolist() == ["batch-test", "batch-test", ""]
    assert table["annotation_protocol"].fillna("").tolist() == ["all-scales/v1", "all-scales/v1", ""]
    assert table["rubric_hash"].fillna("").str.len().tolist() == [64, 64, 0]
    failed = pd.read_csv(workspace / "failures.csv")
    assert failed["instance_id"].tolist() == ["t/3"] and failed["raw_text"].tolist() == ["I cannot decide."]
    assert "no JSON object" in failed["error"][0]
    err = " ".join(capsys.readouterr().err.split())
    assert "1 request(s) still need an answer" in err
    # the failed row had no levels before: the closing line must not claim it kept any
    assert "1 row(s) got no usable answer from this job; 1 have no levels on these scales (see --failures)" in err
    assert "kept" not in err

    repair = export_batch(workspace, "repair.jsonl")
    assert [r["custom_id"] for r in repair] == [f"{ids[2]}:r1"]
    messages = repair[0]["body"]["messages"]
    assert messages[2] == {"role": "assistant", "content": "I cannot decide."}
    assert "could not be used" in messages[3]["content"]

    write_results(results, {f"{ids[2]}:r1": json_answer({"QLq": 0, "QLl": 0, "UG": 1})})
    assert batch_cli(workspace, "--import-results", str(results), "--out", str(out)) == 0
    assert pd.read_csv(out).loc[2, ["QLq", "QLl", "UG"]].tolist() == [0.0, 0.0, 1.0]
    assert export_batch(workspace, "none.jsonl") == []


def test_exhausted_failure_stays_failed_until_retry(workspace):
    ids = [r["custom_id"] for r in export_batch(workspace)]
    for prompt_id in (ids[0], f"{ids[0]}:r1"):  # the first answer and its one repair are both unusable
        (workspace / "r.jsonl").write_text(json.dumps({"custom_id": prompt_id, "content": "Level: 9"}) + "\n")
        assert batch_cli(workspace, "--import-results", str(workspace / "r.jsonl")) == 0
    assert ids[0] not in [r["custom_id"] for r in export_batch(workspace)]
    assert batch_cli(workspace, "--export-requests", str(workspace / "x.jsonl"), "--retry-failures") == 0
    assert ids[0] in (workspace / "x.jsonl").read_text()


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "line 1: malformed JSON"),
    ('{"custom_id": "nope", "content": "Level: 1"}', "line 1: custom_id 'nope' matches no request"),
    ('{"content": "Level: 1"}', "line 1: expected an object with a string custom_id"),
    ('{"custom_id": "a", "response": {"status_code": 200, "body": {}}}', "line 1: response.body has no choices"),
])
def test_bad_results_lines_are_named(workspace, capsys, line, message):
    export_batch(workspace)
    (workspace / "bad.jsonl").write_text(line + "\n")
    assert batch_cli(workspace, "--import-results", str(workspace / "bad.jsonl")) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and message in " ".join(err.split())


def test_duplicate_custom_id_is_refused_before_anything_is_stored(workspace, capsys):
    ids = [r["custom_id"] for r in export_batch(workspace)]
    line = json.dumps({"custom_id": ids[0], "content": json_answer({"QLq": 1, "QLl": 1, "UG": 10})})
    (workspace / "dup.jsonl").write_text(line + "\n" + line + "\n")
    assert batch_cli(workspace, "--import-results", str(workspace / "dup.jsonl")) == 2
    assert "line 2: custom_id" in " ".join(capsys.readouterr().err.split())
    assert len(export_batch(workspace)) == 3


def test_provider_errors_are_left_unanswered(workspace):
    ids = [r["custom_id"] for r in export_batch(workspace)]
    line = {"custom_id": ids[0], "response": {"status_code": 500, "body": {"error": "boom"}}}
    (workspace / "err.jsonl").write_text(json.dumps(line) + "\n")
    assert batch_cli(workspace, "--import-results", str(workspace / "err.jsonl")) == 0
    assert len(export_batch(workspace)) == 3


def test_live_run_refused_for_batch_annotator(workspace, capsys):
    assert batch_cli(workspace, "--out", str(workspace / "o.csv")) == 2
    assert "uses backend batch-file" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--mode", "sideways"], "unknown mode 'sideways'"),
    (["--scales", "QLq,XYZ"], "no rubric for scale(s) 'XYZ'"),
    (["--export-requests", "a.jsonl", "--import-results", "b.jsonl"], "not both"),
    (["--out", "annotated.txt", "--import-results", "none.jsonl"], "cannot read file"),
])
def test_bad_command_lines_are_explained(workspace, capsys, args, message):
    code = main(["annotate", str(workspace / "battery.csv"), "--annotator", str(workspace / "batch.yaml"),
                 "--cache", str(workspace / "c.sqlite"), *args])
    assert code == 2 and message in " ".join(capsys.readouterr().err.split())


def test_per_scale_requests_and_missing_rubric(workspace, capsys, tmp_path_factory):
    assert main(["annotate", str(workspace / "battery.csv"), "--annotator", str(workspace / "batch.yaml"),
                 "--scales", "QLq,UG", "--mode", "per-scale", "--cache", str(workspace / "c.sqlite"),
                 "--export-requests", str(workspace / "p.jsonl")]) == 0
    lines = [json.loads(line) for line in (workspace / "p.jsonl").read_text().splitlines()]
    assert len(lines) == 6 and lines[1]["body"]["messages"][1]["content"].endswith("(a percentage).")
    rubric_dir = tmp_path_factory.mktemp("rubrics")
    rubric = (Path(__file__).parents[1] / "rubrics" / "QLq.yaml").read_text().replace("code: QLq", "code: QLz")
    (rubric_dir / "QLz.yaml").write_text(rubric)
    command = ["annotate", str(workspace / "battery.csv"), "--annotator", str(workspace / "batch.yaml"),
               "--scales", "QLq,QLz", "--cache", str(workspace / "c.sqlite")]
    assert main([*command, "--export-requests", str(workspace / "x.jsonl")]) == 2
    assert "no rubric for scale(s) 'QLz'" in capsys.readouterr().err
    assert main([*command, "--rubrics", str(rubric_dir), "--export-requests", str(workspace / "x.jsonl")]) == 0
    assert "RUBRIC QLz" in (workspace / "x.jsonl").read_text()
