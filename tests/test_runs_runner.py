"""`assess run` end to end against a real local completions server: outcomes, settings, resume, errors."""
from __future__ import annotations

import asyncio
import json
import re

import pandas as pd
import pytest

from assess.backends import BackendError
from assess.cli import main
from assess.errors import InputError
from assess.runs.config import load_run_config
from assess.runs.job import run_job
from assess.runs.store import RunCache
from runs_fixtures import ScriptedServer, write_battery, write_run_config

#: What the scripted answers score under the auto scorer (see runs_fixtures.scripted_answer).
EXPECTED = {"t/mc/0": 1, "t/mc/1": 1, "t/mc/2": 0, "t/bin/0": 1, "t/bin/1": 0, "t/num/0": 1, "t/num/1": 0,
            "t/free/0": 0}


def run(config_path):
    return asyncio.run(run_job(load_run_config(config_path)))


def test_run_writes_scored_outcomes_and_settings(tmp_path) -> None:
    write_battery(tmp_path)
    with ScriptedServer() as server:
        outcomes, summary = run(write_run_config(tmp_path, server.base_url))
    assert dict(zip(outcomes["instance_id"], outcomes["correct"])) == EXPECTED
    written = pd.read_parquet(tmp_path / "out" / "outcomes.parquet")
    assert list(written.columns[:4]) == ["subject", "instance_id", "correct", "raw_output"]
    assert set(written["subject"]) == {"scripted"}
    assert written.set_index("instance_id").loc["t/mc/0", "raw_output"] == "The answer is (B)."
    assert written.set_index("instance_id").loc["t/mc/0", "extracted"] == "B"
    assert (summary.items, summary.generated, summary.cached, summary.accuracy) == (8, 8, 0, 0.5)
    assert summary.completion_tokens > 0 and summary.tokens_per_s > 0
    settings = json.loads((tmp_path / "out" / "outcomes.settings.json").read_text())
    assert settings["backend"]["generation"]["max_tokens"] == 16 and settings["solver"]["solver"] == "generate"
    assert settings["templates"]["multiple_choice"].startswith("Question: {prompt}")
    assert settings["summary"]["accuracy"] == 0.5
    assert len(server.answered) == 8 and server.answered[0].startswith("Question: ")


def test_an_interrupted_run_resumes_without_generating_again(tmp_path) -> None:
    write_battery(tmp_path)
    with ScriptedServer(fail_from=4) as failing:
        with pytest.raises(BackendError, match="request instance t/"):
            run(write_run_config(tmp_path, failing.base_url, concurrency=1))
    assert len(failing.answered) == 3
    assert len(RunCache(tmp_path / "out" / "outcomes.sqlite")) == 3
    assert not (tmp_path / "out" / "outcomes.parquet").exists()
    with ScriptedServer() as server:
        outcomes, summary = run(write_run_config(tmp_path, server.base_url))
    assert len(server.answered) == 5 and not set(server.answered) & set(failing.answered)
    assert (summary.cached, summary.generated) == (3, 5)
    assert dict(zip(outcomes["instance_id"], outcomes["correct"])) == EXPECTED
    with ScriptedServer() as idle:
        _, again = run(write_run_config(tmp_path, idle.base_url))
    assert idle.received == 0 and again.cached == 8


def test_chat_few_shot_and_regex_scorer(tmp_path) -> None:
    write_battery(tmp_path)
    with ScriptedServer(lambda prompt: "Thinking... So the answer is (A).") as server:
        path = write_run_config(tmp_path, server.base_url, chat="true", fewshot="1", scorer="regex",
                                select="{answer_formats: [multiple_choice], stratify: null}")
        outcomes, _ = run(path)
    assert list(outcomes["correct"]) == [0, 1, 0]  # only t/mc/1's target is (A)
    assert all(prompt.count("Question: ") == 2 for prompt in server.answered)


def test_rank_solver_needs_a_loglikelihood_backend(tmp_path) -> None:
    write_battery(tmp_path)
    with pytest.raises(InputError, match="solver 'rank' needs a backend that scores log-likelihoods"):
        run(write_run_config(tmp_path, "http://127.0.0.1:9/v1", solver="rank"))


def test_cli_run_with_output_and_limit_overrides(tmp_path, capsys) -> None:
    write_battery(tmp_path)
    with ScriptedServer() as server:
        code = main(["run", str(write_run_config(tmp_path, server.base_url)), "--output",
                     str(tmp_path / "elsewhere.csv"), "--limit", "3"])
    assert code == 0
    written = pd.read_csv(tmp_path / "elsewhere.csv")
    assert len(written) == 3 and (tmp_path / "elsewhere.sqlite").exists()
    assert "3 items (0 cached, 3 generated" in capsys.readouterr().err


@pytest.mark.parametrize("overrides, message", [
    ({"solver": "think"}, r"line \d+: solver: Input should be 'generate' or 'rank'"),
    ({"temperature": "0.5"}, r"line \d+: temperature: unknown key \(allowed: subject"),
    ({"scorer": "judge"}, "scorer 'judge' needs a judge backend section"),
    ({"select": "{instance_ids: ids.txt}"}, "ids.txt.*file not found"),
    ({"battery": "missing.csv"}, "missing.csv: file not found"),
])
def test_config_errors_name_the_key_or_file(tmp_path, capsys, overrides: dict, message: str) -> None:
    write_battery(tmp_path)
    code = main(["run", str(write_run_config(tmp_path, "http://127.0.0.1:9/v1", **overrides))])
    assert code == 2
    assert re.search(message, capsys.readouterr().err)


def test_dead_server_is_an_error_naming_the_request(tmp_path, capsys) -> None:
    write_battery(tmp_path)
    code = main(["run", str(write_run_config(tmp_path, "http://127.0.0.1:9/v1"))])
    assert code == 2
    assert "request instance t/" in capsys.readouterr().err


def test_unusable_items_are_skipped_and_listed(tmp_path, capsys) -> None:
    battery = pd.read_csv(write_battery(tmp_path))
    battery.loc[0, "prompt"] = "Capital of France? (options lost in a truncated file)"
    battery.to_csv(tmp_path / "battery.csv", index=False)
    with ScriptedServer() as server:
        assert main(["run", str(write_run_config(tmp_path, server.base_url))]) == 0
    assert "skipped 1 unusable item(s)" in capsys.readouterr().err
    assert len(pd.read_parquet(tmp_path / "out" / "outcomes.parquet")) == 7
    settings = json.loads((tmp_path / "out" / "outcomes.settings.json").read_text())
    assert settings["skipped"] == [{"instance_id": "t/mc/0", "problem": "multiple-choice prompt lists 0 lettered "
                                    "options (expected lines like 'A. text' or '(A) text')"}]


def test_a_run_with_no_usable_item_is_an_error(tmp_path) -> None:
    battery = pd.read_csv(write_battery(tmp_path))
    battery["prompt"] = battery["prompt"].str.split("\n").str[0]  # every option list lost
    battery.to_csv(tmp_path / "battery.csv", index=False)
    path = write_run_config(tmp_path, "http://127.0.0.1:9/v1",
                            select="{answer_formats: [multiple_choice], stratify: null}")
    with pytest.raises(InputError, match="none of the 3 selected items can be run; first problem: instance 't/mc/0'"):
        run(path)


def test_a_corrupt_cache_is_named(tmp_path) -> None:
    (tmp_path / "cache.sqlite").write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(InputError, match="cache.sqlite: not a usable run cache"):
        RunCache(tmp_path / "cache.sqlite")
