"""The HTTP backend and live engine against a fault-injecting OpenAI-compatible server on loopback."""
from __future__ import annotations

import socket

import pandas as pd
import pytest

from annotate_fixtures import QUESTIONS, write_annotator, write_battery
from assess.annotate import AnnotationJob, AnnotationStore, load_annotator, run_live
from assess.backends import make_backend
from assess.cli import main
from assess.errors import AssessError
from assess.rubrics import load_rubrics
from assess.sources import read_battery
from faultserver import FaultServer, level_for


def http_annotator(tmp_path, base_url: str, **extra: str) -> object:
    lines = {"name": "fault-test", "backend": "openai", "model": "m", "base_url": base_url, "concurrency": "2",
             "repair_attempts": "1", **extra}
    text = "".join(f"{k}: {v}\n" for k, v in lines.items())
    text += "retry: {max_attempts: 8, initial_delay_s: 0.01, max_delay_s: 0.05, timeout_s: 0.5}\n"
    return write_annotator(tmp_path, text)


def run_job(tmp_path, server: FaultServer, scales=("QLq",), mode="per-scale", **extra: str):
    write_battery(tmp_path)
    config = load_annotator(http_annotator(tmp_path, server.base_url, **extra))
    job = AnnotationJob.build(read_battery(tmp_path / "battery.csv"), config, load_rubrics(), scales, mode)
    store = AnnotationStore(tmp_path / "cache.sqlite")
    return job, store, run_live(job.requests, store, config)


def test_transport_faults_are_retried_until_answered(tmp_path):
    with FaultServer(["429", "500", "drop", "badbody", "slow", "503"], slow_s=1.5) as server:
        job, store, summary = run_job(tmp_path, server, concurrency="1")
    assert summary.retries == 6 and summary.answered == 3 and summary.failures == 0
    table = job.annotated(store)
    expected = [level_for(r.messages) for r in job.requests]
    assert table["QLq"].tolist() == expected
    assert server.received == 9  # six injected faults, three answers


def test_client_errors_are_not_retried(tmp_path):
    with FaultServer(["400"]) as server, pytest.raises(AssessError) as caught:
        run_job(tmp_path, server, concurrency="1")
    assert server.received == 1
    assert "HTTP 400" in str(caught.value) and "instance 't/1' scale(s) QLq" in str(caught.value)


def test_garbage_gets_a_repair_prompt_then_a_recorded_failure(tmp_path):
    with FaultServer(["garbage", "ok", "garbage", "garbage"]) as server:
        job, store, summary = run_job(tmp_path, server, concurrency="1")
    assert summary.calls == 5 and summary.repairs == 2 and summary.failures == 1 and summary.answered == 2
    answers = store.get(r.key for r in job.requests)
    first, second, third = (answers[r.key] for r in job.requests)
    assert first.status == "ok" and [t["problem"] is None for t in first.transcript] == [False, True]
    assert second.status == "failed" and second.raw_text == "I would rather not say."
    assert "no `Level: N` line" in second.error and second.attempts == 2
    assert third.status == "ok" and third.attempts == 1
    table = job.annotated(store)
    assert pd.isna(table.loc[1, "QLq"]) and not table["QLq"].drop(index=1).isna().any()


def test_all_scales_mode_asks_once_per_instance(tmp_path):
    with FaultServer() as server:
        job, store, summary = run_job(tmp_path, server, scales=("QLq", "QLl", "UG"), mode="all-scales")
    assert server.received == len(QUESTIONS) and summary.calls == len(QUESTIONS)
    assert summary.prompt_tokens == 300 and summary.completion_tokens == 30
    table = job.annotated(store)
    assert table[["QLq", "QLl"]].notna().all().all() and table["UG"].between(0, 100).all()
    assert set(table["annotation_protocol"]) == {"all-scales/v1"}


def test_cache_hits_are_not_asked_again(tmp_path):
    with FaultServer() as server:
        run_job(tmp_path, server)
        _, _, summary = run_job(tmp_path, server)
    assert server.received == 3 and summary.cache_hits == 3 and summary.calls == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_dead_server_fails_with_the_request_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ASSESS_FAKE_KEY", "sk-very-secret-123")
    write_battery(tmp_path)
    annotator = http_annotator(tmp_path, f"http://127.0.0.1:{_free_port()}/v1", api_key_env="ASSESS_FAKE_KEY")
    code = main(["annotate", str(tmp_path / "battery.csv"), "--annotator", str(annotator), "--scales", "QLq",
                 "--mode", "per-scale", "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "o.csv")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "failed after 8 attempt(s): ConnectError" in err and "scale(s) QLq" in err
    assert "sk-very-secret" not in err and not (tmp_path / "o.csv").exists()


def test_api_key_goes_to_the_server_and_nowhere_else(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ASSESS_FAKE_KEY", "sk-very-secret-123")
    write_battery(tmp_path)
    with FaultServer(["401"]) as server:
        annotator = http_annotator(tmp_path, server.base_url, api_key_env="ASSESS_FAKE_KEY")
        args = ["annotate", str(tmp_path / "battery.csv"), "--annotator", str(annotator), "--scales", "QLq",
                "--mode", "per-scale", "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "o.csv")]
        assert main(args) == 2
        assert main(args) == 0
    assert server.authorizations == {"Bearer sk-very-secret-123"}
    out = capsys.readouterr()
    for path in tmp_path.iterdir():
        assert b"sk-very-secret" not in path.read_bytes(), path
    assert "sk-very-secret" not in out.out + out.err


def test_missing_key_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("ASSESS_ABSENT_KEY", raising=False)
    config = load_annotator(http_annotator(tmp_path, "http://127.0.0.1:9/v1", api_key_env="ASSESS_ABSENT_KEY"))
    with pytest.raises(AssessError, match="'ASSESS_ABSENT_KEY' named by api_key_env is not set"):
        make_backend(config)
