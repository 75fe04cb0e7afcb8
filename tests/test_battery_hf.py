"""`assess battery hf`: the real `datasets` loading code on local dataset files in each benchmark's hub layout.

MMLU-Pro and BBH files are rebuilt from the bundled sample's real items in the column layout the hub
datasets use (TIGER-Lab/MMLU-Pro: question and a list of options; lukaemon/bbh: input, target), so the
battery they give must equal the bundled items; the other registered benchmarks get two rows each in their hub column layout.
There is no hub here: a hub id fails with a message saying how to load local files instead.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from assess.battery_sources.hf import REGISTRY, bbh_answer_format, build_battery
from assess.cli import main
from assess.datasets import load_sample
from assess.errors import InputError

pytest.importorskip("datasets", reason="needs the `hf` extra")
LETTERS = "ABCDEFGHIJ"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return load_sample()[0].set_index("instance_id")


def _parquet(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_parquet(path)
    return path


def _hub_row(item) -> dict | None:
    """A TIGER-Lab/MMLU-Pro row (question, list of options) from a bundled item, when its prompt splits cleanly."""
    question, _, block = item.prompt.rpartition("\n\nA. ")
    lines = f"A. {block}".split("\n")
    if not question or any(not line.startswith(f"{LETTERS[i]}. ") for i, line in enumerate(lines)):
        return None
    return {"question_id": int(item.Index.split("/")[1]), "question": question, "options": [l[3:] for l in lines],
            "answer": item.target, "answer_index": LETTERS.index(item.target), "cot_content": "",
            "category": item.task, "src": item.source}


@pytest.fixture
def mmlu_pro_file(tmp_path, sample) -> Path:
    items = sample[sample["benchmark"] == "mmlu_pro"]
    rows = [row for row in map(_hub_row, items.itertuples()) if row is not None][:40]
    return _parquet(tmp_path / "test-00000-of-00001.parquet", rows)


def test_mmlu_pro_from_local_parquet_equals_the_bundled_items(tmp_path, mmlu_pro_file, sample, capsys) -> None:
    out = tmp_path / "battery.csv"
    assert main(["battery", "hf", "mmlu_pro", "--data-files", str(mmlu_pro_file), "-o", str(out)]) == 0
    built = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("instance_id")
    assert len(built) == 40 and built.index[0] == "mmlu_pro/70"
    for column in ("benchmark", "task", "prompt", "target", "answer_format"):
        assert built[column].tolist() == sample.loc[built.index, column].tolist(), column
    assert "wrote 40 items" in capsys.readouterr().err


def test_bbh_task_from_local_json_equals_the_bundled_items(tmp_path, sample) -> None:
    navigate = sample.loc[[f"bbh/navigate/{i}" for i in range(int((sample["task"] == "navigate").sum()))]]
    path = tmp_path / "navigate.json"
    path.write_text("\n".join(json.dumps({"input": r.prompt, "target": r.target}) for r in navigate.itertuples()))
    built = build_battery("bbh", configs=["navigate"], data_files=[str(path)]).set_index("instance_id")
    assert list(built.index) == [f"bbh/navigate/{i}" for i in range(len(navigate))]
    for column in ("task", "prompt", "target", "answer_format"):
        assert built[column].tolist() == sample.loc[built.index, column].tolist(), column
    with pytest.raises(InputError, match="name it with --config"):
        build_battery("bbh", data_files=[str(path)])


def test_bbh_answer_formats() -> None:
    assert bbh_answer_format("Which?\nOptions:\n(A) x\n(B) y\n(C) z", "(B)") == "multiple_choice_3"
    assert bbh_answer_format("Is it?", "Yes") == "binary"
    assert bbh_answer_format("2 + 2 =", "-4") == "numeric"
    assert bbh_answer_format("Sort: b a", "a b") == "free_text"


HUB_ROWS = {
    "gsm8k": [{"question": "Tom has 3 apples and buys 4. How many?", "answer": "3 + 4 = 7\n#### 7"},
              {"question": "A crate holds 1,200 eggs; 200 break.", "answer": "1200 - 200\n#### 1,000"}],
    "math": [{"problem": "Compute $1+1$.", "solution": "$2$", "answer": "2", "subject": "Prealgebra", "level": 1,
              "unique_id": "test/prealgebra/1.json"},
             {"problem": "Solve $x^2=4$, $x>0$.", "solution": "$x=2$", "answer": "2", "subject": "Algebra", "level": 2,
              "unique_id": "test/algebra/7.json"}],
    "arc": [{"id": "Mercury_7175875", "question": "Which is a gas?",
             "choices": {"text": ["ice", "steam", "rock", "wood"], "label": ["A", "B", "C", "D"]}, "answerKey": "B"},
            {"id": "MCAS_2000_4_6", "question": "Which is alive?",
             "choices": {"text": ["a tree", "a stone", "a cup"], "label": ["1", "2", "3"]}, "answerKey": "1"}],
    "gpqa": [{"Record ID": "recABC", "Question": "Which particle is a lepton?", "Correct Answer": "electron",
              "Incorrect Answer 1": "proton", "Incorrect Answer 2": "neutron", "Incorrect Answer 3": "pion",
              "High-level domain": "Physics"},
             {"Record ID": "recXYZ", "Question": "What is the pH of pure water at 25 C?", "Correct Answer": "7",
              "Incorrect Answer 1": "0", "Incorrect Answer 2": "14", "Incorrect Answer 3": "1",
              "High-level domain": "Chemistry"}],
    "ifeval": [{"key": 1000, "prompt": "Write a haiku about rain in lowercase.",
                "instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]},
               {"key": 1001, "prompt": "Answer in exactly two sentences: why is the sky blue?",
                "instruction_id_list": ["length_constraints:number_sentences"], "kwargs": [{"num_sentences": 2}]}],
}


@pytest.mark.parametrize("name", sorted(HUB_ROWS))
def test_registered_mappings_on_hub_shaped_rows(tmp_path, name) -> None:
    path = _parquet(tmp_path / f"{name}.parquet", HUB_ROWS[name])
    battery = build_battery(name, data_files=[str(path)])
    assert len(battery) == 2 and set(battery["benchmark"]) == {name}
    assert battery["instance_id"].is_unique and battery["instance_id"].str.startswith(f"{name}/").all()
    first = battery.iloc[0]
    if name == "gsm8k":
        assert battery["target"].tolist() == ["7", "1000"]
    if name == "arc":
        assert first["prompt"].endswith("D. wood") and first["target"] == "B"
        assert battery.iloc[1]["prompt"].endswith("3. a cup") and battery.iloc[1]["answer_format"] == "multiple_choice_3"
    if name == "gpqa":
        for row in battery.itertuples():  # the target letter points at the correct answer wherever it landed
            correct = {"gpqa/recABC": "electron", "gpqa/recXYZ": "7"}[row.instance_id]
            assert f"{row.target}. {correct}" in row.prompt.splitlines()
    if name == "math":
        assert first["instance_id"] == "math/test/prealgebra/1.json" and first["task"] == "Prealgebra"
    if name == "ifeval":
        assert first["instance_id"] == "ifeval/1000" and first["target"] == ""


def test_musr_split_from_local_file(tmp_path) -> None:
    path = _parquet(tmp_path / "murder.parquet", [{
        "narrative": "In the library, Ann found the clock stopped at nine.", "question": "Who is the most likely murderer?",
        "choices": "['Ann', 'Bob']", "answer_index": 1, "answer_choice": "Bob"}])
    battery = build_battery("musr", split="murder_mysteries", data_files=[str(path)])
    row = battery.iloc[0]
    assert row["instance_id"] == "musr/murder_mysteries/0" and row["target"] == "2"
    assert row["prompt"].endswith("1. Ann\n2. Bob") and row["answer_format"] == "multiple_choice_2"


def test_any_dataset_with_a_template_and_columns(tmp_path, capsys) -> None:
    folder = tmp_path / "my_qa"
    folder.mkdir()
    _parquet(folder / "train.parquet", [{"qid": "a1", "q": "What is 2+2?", "ctx": "Arithmetic.", "gold": "4"},
                                        {"qid": "a2", "q": "Capital of France?", "ctx": "Geography.", "gold": "Paris"}])
    out = tmp_path / "b.parquet"
    assert main(["battery", "hf", str(folder), "--template", "{ctx}\\n{q}", "--target-column", "gold",
                 "--id-column", "qid", "-o", str(out)]) == 0
    battery = pd.read_parquet(out)
    assert battery["instance_id"].tolist() == ["my_qa/a1", "my_qa/a2"]
    assert battery["prompt"].tolist() == ["Arithmetic.\nWhat is 2+2?", "Geography.\nCapital of France?"]
    assert battery["target"].tolist() == ["4", "Paris"]
    assert main(["battery", "hf", str(folder), "--prompt-column", "question", "-o", str(out)]) == 2
    assert "no column 'question' (columns: qid, q, ctx, gold)" in capsys.readouterr().err


def test_unregistered_name_without_mapping_is_refused() -> None:
    with pytest.raises(InputError, match="not a registered benchmark .*--prompt-column or --template"):
        build_battery("someone/some-dataset")


def test_offline_hub_fails_clearly(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["battery", "hf", "mmlu_pro", "-o", str(tmp_path / "b.csv")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "cannot load dataset 'TIGER-Lab/MMLU-Pro', split 'test'" in err
    assert "pass a local folder as DATASET_ID, or the files with --data-files" in err
    assert not (tmp_path / "b.csv").exists()


def test_registry_covers_the_common_benchmarks() -> None:
    assert set(REGISTRY) == {"mmlu_pro", "bbh", "gsm8k", "math", "arc", "gpqa", "musr", "ifeval"}
