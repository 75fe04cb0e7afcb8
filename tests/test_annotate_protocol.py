"""Protocol versions: v2 checks multiple-choice formats against the listed options, and its labels never share a key with v1."""
from __future__ import annotations

import pandas as pd

from annotate_fixtures import batch_annotator, batch_cli, export_batch, json_answer, write_results
from assess.cli import main

ROWS = [
    {"instance_id": "q/1", "prompt": "Pick one.\nOptions:\n(A) red\n(B) blue\n(C) green", "target": "(B)",
     "answer_format": "multiple_choice_3"},
    {"instance_id": "q/2", "prompt": "Is ice cold?", "target": "Yes", "answer_format": "binary"},
]


def setup(tmp_path, rows=ROWS):
    pd.DataFrame(rows).to_csv(tmp_path / "battery.csv", index=False)
    batch_annotator(tmp_path)


def test_v2_labels_carry_their_version_and_get_their_own_keys(tmp_path) -> None:
    setup(tmp_path)
    v1 = [r["custom_id"] for r in export_batch(tmp_path, "v1.jsonl")]
    v2 = [r["custom_id"] for r in export_batch(tmp_path, "v2.jsonl", "--protocol-version", "v2")]
    assert not set(v1) & set(v2)
    answer = json_answer({"QLq": 1, "QLl": 2, "UG": 67})
    write_results(tmp_path / "results.jsonl", {key: answer for key in v2})
    out = tmp_path / "annotated.csv"
    assert batch_cli(tmp_path, "--protocol-version", "v2", "--import-results", str(tmp_path / "results.jsonl"),
                     "--out", str(out)) == 0
    table = pd.read_csv(out)
    assert table["annotation_protocol"].tolist() == ["all-scales/v2", "all-scales/v2"]
    # the v1 requests are still pending: a v2 answer is never reused for v1
    assert [r["custom_id"] for r in export_batch(tmp_path, "again.jsonl")] == v1


def test_v2_refuses_a_multiple_choice_count_that_is_not_the_listed_one(tmp_path, capsys) -> None:
    setup(tmp_path, [{**ROWS[0], "answer_format": "multiple_choice_18"}])
    assert batch_cli(tmp_path, "--export-requests", str(tmp_path / "r.jsonl")) == 0  # v1 takes the battery as is
    code = batch_cli(tmp_path, "--protocol-version", "v2", "--export-requests", str(tmp_path / "r2.jsonl"))
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "row 1" in err and "'q/1'" in err and "lists 3 options" in err


def test_unknown_protocol_version_is_a_usage_error(tmp_path, capsys) -> None:
    setup(tmp_path)
    assert main(["annotate", str(tmp_path / "battery.csv"), "--annotator", str(tmp_path / "batch.yaml"),
                 "--protocol-version", "v9", "--export-requests", str(tmp_path / "r.jsonl")]) == 2
    assert "unknown protocol version 'v9'" in capsys.readouterr().err
