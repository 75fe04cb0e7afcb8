"""kill -9 in the middle of a live run, rerun: nothing lost, nothing paid twice but what was in flight."""
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
from faultserver import FaultServer

REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = 4
SCALES = ("QLq", "QLl", "CEc")


def _command(tmp_path: Path) -> list[str]:
    return [sys.executable, "-m", "assess.cli", "annotate", str(tmp_path / "battery.csv"),
            "--annotator", str(tmp_path / "annotator.yaml"), "--scales", ",".join(SCALES), "--mode", "per-scale",
            "--cache", str(tmp_path / "cache.sqlite"), "--out", str(tmp_path / "annotated.csv")]


def _committed_prompt_hashes(cache: Path) -> set[str]:
    with sqlite3.connect(cache) as db:
        return {row[0] for row in db.execute("SELECT prompt_hash FROM answers")}


def test_kill_9_then_rerun_finishes_without_paying_twice(tmp_path):
    rows = [(f"k/{i}", f"Compute {i} + {i * 7}.", str(8 * i)) for i in range(20)]
    write_battery(tmp_path, rows)
    total = len(rows) * len(SCALES)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with FaultServer(delay_s=0.05) as server:
        write_annotator(tmp_path, f"name: resume-test\nbackend: openai\nmodel: m\nbase_url: {server.base_url}\n"
                                  f"concurrency: {CONCURRENCY}\n")
        first = subprocess.Popen(_command(tmp_path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while server.answered_total < total // 3 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        assert first.returncode == -signal.SIGKILL
        committed = _committed_prompt_hashes(tmp_path / "cache.sqlite")
        assert 0 < len(committed) < total
        assert not (tmp_path / "annotated.csv").exists()

        second = subprocess.run(_command(tmp_path), env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr

    assert len(server.answered) == total  # every prompt answered at least once
    paid_twice = {prompt for prompt, count in server.answered.items() if count > 1}
    assert max(server.answered.values()) <= 2
    assert not paid_twice & committed  # only answers that never reached the store were asked again
    assert len(paid_twice) <= CONCURRENCY  # ... and those can only be the ones in flight at the kill
    assert len(_committed_prompt_hashes(tmp_path / "cache.sqlite")) == total
    table = pd.read_csv(tmp_path / "annotated.csv")
    assert table[list(SCALES)].notna().all().all()
