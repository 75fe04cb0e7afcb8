"""The Inspect AI task `assess/battery`, run for real with Inspect's mockllm model, and its log imported back.

Needs the `inspect` extra and `assess` installed (Inspect finds the task through the package's
``inspect_ai`` entry point, by the name `inspect eval assess/battery` uses). The tests call
``inspect_ai.eval("assess/battery", ...)``, which resolves the name as the command line does; the
mock answers carry token usage, since mockllm would otherwise count tokens with tiktoken, whose
encoding files come from the network. They run from a scratch folder: next to a source tree named
``assess/``, Inspect does not treat the package as installed and registers the task as ``battery``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from assess.cli import main
from assess.datasets import load_sample
from assess.scales import ANNOTATED

inspect_ai = pytest.importorskip("inspect_ai", reason="needs the `inspect` extra")
CORRECT_ANSWER = "Alpha"


@pytest.fixture(scope="module")
def battery_file(tmp_path_factory) -> Path:
    """Six annotated sample items (multiple choice, binary, numeric) and one of our own, answerable by mockllm."""
    sample = load_sample(annotated_only=True)[0]
    rows = pd.concat([sample[sample["answer_format"].str.startswith("multiple_choice")].head(2),
                      sample[sample["answer_format"] == "binary"].head(2),
                      sample[sample["answer_format"] == "numeric"].head(2)])
    own = rows.iloc[[0]].assign(instance_id="toy/echo", benchmark="toy", task="echo", prompt="Say a word.",
                                target=CORRECT_ANSWER, answer_format="free_text")
    path = tmp_path_factory.mktemp("battery") / "battery.csv"
    pd.concat([rows, own]).to_csv(path, index=False)
    return path


def _run(folder: Path, battery_file: Path) -> Path:
    """``inspect eval assess/battery -T battery=FILE --model mockllm/model`` (every answer "Alpha"); the JSON log."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    answer = ModelOutput.from_content("mockllm/model", CORRECT_ANSWER)
    answer.usage = ModelUsage(input_tokens=20, output_tokens=1, total_tokens=21)
    model = get_model("mockllm/model", custom_outputs=[answer] * 7)
    (log,) = inspect_eval("assess/battery", task_args={"battery": str(battery_file)}, model=model,
                          log_dir=str(folder), log_format="json", display="none")
    assert log.status == "success", log.error
    assert log.eval.task == "assess/battery"
    (path,) = sorted(folder.glob("*.json"))
    return path


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_eval_finds_the_task_and_carries_the_demands(scratch, battery_file) -> None:
    log = json.loads(_run(scratch / "logs", battery_file).read_text())
    battery = pd.read_csv(battery_file, dtype={"instance_id": str})
    logged = {s["id"]: s for s in log["samples"]}
    assert set(logged) == set(battery["instance_id"])
    for row in battery.itertuples():
        meta = logged[row.instance_id]["metadata"]
        want = {code: getattr(row, code) for code in ANNOTATED if pd.notna(getattr(row, code))}
        assert meta["demands"] == pytest.approx(want) and len(want) >= 18
        assert meta["benchmark"] == row.benchmark and meta["task"] == row.task
    # every answer is "Alpha": right only for our own free-text item
    scores = {i: s["scores"]["assess_scorer"]["value"] for i, s in logged.items()}
    assert scores.pop("toy/echo") == "C" and set(scores.values()) == {"I"}


def test_the_log_imports_back_without_an_id_mapping(scratch, battery_file, capsys) -> None:
    log = _run(scratch / "logs", battery_file)
    out = scratch / "outcomes.csv"
    assert main(["import", "inspect", str(log), "--battery", str(battery_file), "-o", str(out)]) == 0
    outcomes = pd.read_csv(out)
    assert len(outcomes) == 7 and set(outcomes["subject"]) == {"mockllm/model"}
    assert outcomes.set_index("instance_id").loc["toy/echo", "correct"] == 1 and outcomes["correct"].sum() == 1
    assert pd.read_csv(scratch / "outcomes.unmatched.csv").empty
    assert "7 outcomes matched, 0 rows unmatched" in capsys.readouterr().err
