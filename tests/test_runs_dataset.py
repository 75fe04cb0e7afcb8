"""Battery rows → samples: formats, option letters, templates, few-shot, selection and stratified sampling."""
from __future__ import annotations

import pandas as pd
import pytest

from assess.errors import InputError
from assess.runs.dataset import (build_samples, format_family, option_letters, select_rows, stratified_sample,
                                 to_sample, DEFAULT_TEMPLATES)
from assess.sources import read_battery
from runs_fixtures import write_battery


@pytest.fixture
def battery(tmp_path) -> pd.DataFrame:
    return read_battery(write_battery(tmp_path))


def test_format_families() -> None:
    assert format_family("multiple_choice_18") == "multiple_choice"
    assert format_family("binary") == "binary"
    with pytest.raises(InputError, match="instance 'q/1'.*unknown answer_format 'essay'"):
        format_family("essay", "q/1")


def test_option_letters_in_both_layouts() -> None:
    assert option_letters("Q?\n\nA. x\nB. y\nC. z", "C", "q") == ("A", "B", "C")
    assert option_letters("Q?\nOptions:\n(A) x\n(B) y", "(B)", "q") == ("A", "B")
    # a lettered line inside the question does not start the run; the last run from A does
    assert option_letters("Steps:\nA. first\nC. third\nPick:\nA. yes\nB. no", "A", "q") == ("A", "B")


@pytest.mark.parametrize("prompt, target, message", [
    ("Q? yes or no", "A", "lists 0 lettered options"),
    ("Q?\nA. x\nB. y", "(D)", "target '\\(D\\)' is not one of the prompt's options A, B"),
])
def test_unusable_options_name_the_instance(prompt: str, target: str, message: str) -> None:
    with pytest.raises(InputError, match=f"instance 'q/9'.*{message}"):
        option_letters(prompt, target, "q/9")


def test_samples_per_format(battery: pd.DataFrame) -> None:
    samples = {s.instance_id: s for s in build_samples(battery)}
    mc = samples["t/mc/0"]
    assert mc.options == mc.candidates == ("A", "B", "C") and mc.answer_format == "multiple_choice"
    assert mc.prompt == DEFAULT_TEMPLATES["multiple_choice"].replace("{prompt}", battery.loc[0, "prompt"])
    assert samples["t/bin/1"].candidates == ("Yes", "No") and samples["t/bin/1"].options == ()
    assert samples["t/num/0"].candidates == () and "Answer with a number" in samples["t/num/0"].prompt


def test_braces_in_prompts_are_safe_and_templates_can_be_replaced(battery: pd.DataFrame) -> None:
    row = battery.iloc[5].copy()
    row["prompt"] = "f(x) = {x + 1} at {prompt}?"
    sample = to_sample(row, {**DEFAULT_TEMPLATES, "numeric": "Q: {prompt}\nA:"})
    assert sample.prompt == "Q: f(x) = {x + 1} at {prompt}?\nA:"


def test_template_without_slot_is_refused(battery: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="'binary' lacks the {prompt} slot"):
        build_samples(battery, templates={"binary": "Answer yes or no:"})


def test_unknown_binary_target_is_named(battery: pd.DataFrame) -> None:
    battery.loc[3, "target"] = "Perhaps"
    with pytest.raises(InputError, match="instance 't/bin/0'.*binary target 'Perhaps'"):
        build_samples(battery)


def test_fewshot_demonstrations_come_from_the_same_task_and_never_the_item(battery: pd.DataFrame) -> None:
    samples = build_samples(battery.iloc[:3], pool=battery, fewshot=2, seed=1)
    prompts = battery.set_index("instance_id")["prompt"]
    for sample in samples:
        own = prompts[sample.instance_id]
        demos = sample.prompt[: sample.prompt.rindex("Question: ")]
        assert sample.prompt.count("Question: ") == 3 and sample.prompt.count(own) == 1
        assert sample.prompt.endswith(f"{own}\nAnswer with the letter of the correct option.\nAnswer:")
        assert demos.count("option.\nAnswer: ") == 2 and "Answer: (" not in demos  # bare letters
        assert "Is ice cold" not in sample.prompt  # another task
    assert build_samples(battery.iloc[:3], pool=battery, fewshot=2, seed=1) == samples


def test_fewshot_larger_than_the_task_is_refused(battery: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="only 1 other items of task 'bin' for 2-shot"):
        build_samples(battery.iloc[3:4], pool=battery, fewshot=2)


def test_stratified_sample_is_proportional_and_seeded() -> None:
    rows = pd.DataFrame({"instance_id": [f"i{i}" for i in range(1000)],
                         "task": ["big"] * 800 + ["small"] * 200})
    picked = stratified_sample(rows, 100, "task", seed=3)
    assert len(picked) == 100
    assert picked["task"].value_counts().to_dict() == {"big": 80, "small": 20}
    assert picked.equals(stratified_sample(rows, 100, "task", seed=3))
    assert not picked.equals(stratified_sample(rows, 100, "task", seed=4))
    assert list(picked.index) == sorted(picked.index)


def test_select_rows_filters_and_limits(battery: pd.DataFrame) -> None:
    assert set(select_rows(battery, families=["binary", "numeric"])["task"]) == {"bin", "num"}
    assert list(select_rows(battery, instance_ids=["t/mc/2", "t/mc/0"])["instance_id"]) == ["t/mc/0", "t/mc/2"]
    assert len(select_rows(battery, limit=3, stratify="task", seed=0)) == 3
    assert len(select_rows(battery, limit=3, seed=0)) == 3


@pytest.mark.parametrize("kwargs, message", [
    ({"instance_ids": ["t/mc/0", "nope/1"]}, "1 selected ids are not in the battery, e.g. 'nope/1'"),
    ({"families": ["essay"]}, "unknown answer format family 'essay'"),
    ({"tasks": ["absent"]}, "the selection keeps no battery item"),
    ({"limit": 2, "stratify": "category"}, "cannot stratify by 'category'"),
])
def test_select_rows_errors(battery: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        select_rows(battery, **kwargs)
