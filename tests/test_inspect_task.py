"""The Inspect AI task `assess/battery`, run for real with Inspect's mockllm model, and its log imported back.

Needs the `inspect` extra and `assess` installed (Inspect finds the task through the package's
``inspect_ai`` entry point, by the name `inspect eval assess/battery` uses). The tests call
``inspect_ai.eval("assess/battery", ...)``, which resolves the name as the command line does, in a
child process started in a scratch folder: from a source checkout (its ``assess.egg-info`` on the
path) Inspect does not see the package as installed and registers the task as plain ``battery``.
The mock answers carry token usage, since mockllm would otherwise count tokens with tiktoken,
whose encoding files come from the network.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
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


EVAL = """
import sys
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, ModelUsage, get_model
answer = ModelOutput.from_content("mockllm/model", sys.argv[3])
answer.usage = ModelUsage(input_tokens=20, output_tokens=1, total_tokens=21)
model = get_model("mockllm/model", custom_outputs=[answer] * 7)
(log,) = inspect_eval("assess/battery", task_args={"battery": sys.argv[1]}, model=model, log_dir=sys.argv[2],
                      log_format="json", display="none")
print(log.status, log.eval.task, log.error.message if log.error else "")
"""


def _run(folder: Path, battery_file: Path) -> Path:
    """``inspect eval assess/battery -T battery=FILE --model mockllm/model`` (every answer "Alpha"); the JSON log."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    folder.mkdir()
    done = subprocess.run([sys.executable, "-c", EVAL, str(battery_file), str(folder / "logs"), CORRECT_ANSWER],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[:2] == ["success", "assess/battery"], done.stdout
    (path,) = sorted((folder / "logs").glob("*.json"))
    return path


def test_eval_finds_the_task_and_carries_the_demands(tmp_path, battery_file) -> None:
    log = json.loads(_run(tmp_path / "run", battery_file).read_text())
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


def test_the_log_imports_back_without_an_id_mapping(tmp_path, battery_file, capsys) -> None:
    log = _run(tmp_path / "run", battery_file)
    out = tmp_path / "outcomes.csv"
    assert main(["import", "inspect", str(log), "--battery", str(battery_file), "-o", str(out)]) == 0
    outcomes = pd.read_csv(out)
    assert len(outcomes) == 7 and set(outcomes["subject"]) == {"mockllm/model"}
    assert outcomes.set_index("instance_id").loc["toy/echo", "correct"] == 1 and outcomes["correct"].sum() == 1
    assert pd.read_csv(tmp_path / "outcomes.unmatched.csv").empty
    assert "7 outcomes matched, 0 rows unmatched" in capsys.readouterr().err
