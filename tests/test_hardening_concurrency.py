"""Issue 15, finding 5: two processes on one cache share the work, and spend is recorded as it happens.

Real `assess` processes against the loopback fault server (tests/faultserver.py), which counts
what it answered per prompt — what a paying client would have paid for.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from annotate_fixtures import write_annotator, write_battery
from assess.annotate import AnnotationStore
from assess.runs.store import RunCache
from faultserver import FaultServer

REPO = Path(__file__).resolve().parents[1]
ITEMS = 40


def _env(key: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "FAULT_KEY": key}


def _annotate(tmp_path: Path, out: str) -> list[str]:
    return [sys.executable, "-m", "assess.cli", "annotate", str(tmp_path / "battery.csv"),
            "--annotator", str(tmp_path / "annotator.yaml"), "--scales", "QLq,QLl,UG", "--mode", "all-scales",
            "--cache", str(tmp_path / "cache.sqlite"), "--out", str(tmp_path / out)]


def _annotation_workspace(tmp_path: Path, server: FaultServer) -> None:
    write_battery(tmp_path, [(f"c/{i}", f"Compute {i} * {i + 3}.", str(i * (i + 3))) for i in range(ITEMS)])
    write_annotator(tmp_path, f"name: shared\nbackend: openai\nmodel: m\nbase_url: {server.base_url}\n"
                              "api_key_env: FAULT_KEY\nconcurrency: 2\n")


def test_two_annotate_processes_on_one_cache_pay_once_per_request(tmp_path):
    with FaultServer(delay_s=0.4) as server:
        _annotation_workspace(tmp_path, server)
        runs = [subprocess.Popen(_annotate(tmp_path, f"out{i}.csv"), env=_env(f"key-{i}"), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for i in range(2)]
        finished = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], finished
    assert server.authorizations == {"Bearer key-0", "Bearer key-1"}  # both processes did some of the work
    assert len(server.answered) == ITEMS and max(server.answered.values()) == 1
    assert server.answered_total == ITEMS
    for i in range(2):
        table = pd.read_csv(tmp_path / f"out{i}.csv")
        assert table[["QLq", "QLl", "UG"]].notna().all().all()
    with AnnotationStore(tmp_path / "cache.sqlite") as store:
        assert store.spend()["calls"] == ITEMS and store.spend()["prompt_tokens"] == 100 * ITEMS


def test_spend_of_a_killed_run_is_recorded(tmp_path):
    with FaultServer(delay_s=0.05) as server:
        _annotation_workspace(tmp_path, server)
        run = subprocess.Popen(_annotate(tmp_path, "out.csv"), env=_env("k"), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while server.answered_total < ITEMS // 3 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        committed = db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0  # no closing summary after kill -9
    with AnnotationStore(tmp_path / "cache.sqlite") as store:
        spend = store.spend()
    assert 0 < committed < ITEMS and spend["calls"] == committed and spend["prompt_tokens"] == 100 * committed


def _run_workspace(tmp_path: Path, server: FaultServer) -> Path:
    rows = [{"instance_id": f"r/{i}", "benchmark": "b", "task": "t", "prompt": f"Say the number {i}.",
             "target": str(i), "answer_format": "free_text"} for i in range(ITEMS)]
    pd.DataFrame(rows).to_csv(tmp_path / "battery.csv", index=False)
    config = tmp_path / "run.yaml"
    config.write_text("subject: shared\nbattery: battery.csv\noutput: out/outcomes.parquet\nchat: true\n"
                      "cache: cache.sqlite\nselect: {stratify: null}\nscorer: exact\n"
                      f"backend:\n  backend: openai\n  model: m\n  base_url: {server.base_url}\n"
                      "  api_key_env: FAULT_KEY\n  concurrency: 2\n  generation: {max_tokens: 8}\n")
    return config


def test_two_run_processes_on_one_cache_generate_each_item_once(tmp_path):
    with FaultServer(delay_s=0.4) as server:
        config = _run_workspace(tmp_path, server)
        command = [sys.executable, "-m", "assess.cli", "run", str(config)]
        runs = [subprocess.Popen(command, env=_env(f"key-{i}"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for i in range(2)]
        finished = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], finished
    assert server.authorizations == {"Bearer key-0", "Bearer key-1"}
    assert server.received == ITEMS and server.answered_total == ITEMS
    assert len(pd.read_parquet(tmp_path / "out" / "outcomes.parquet")) == ITEMS
    cache = RunCache(tmp_path / "cache.sqlite")
    assert cache.spend()["entries"] == ITEMS
    cache.close()
