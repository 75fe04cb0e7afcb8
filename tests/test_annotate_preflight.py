"""Before the first call: --dry-run sizes the run, a prompt too long for the context stops it; progress off a tty."""
from __future__ import annotations

import re

import pandas as pd

from annotate_fixtures import write_battery
from assess.annotate import AnnotationJob, load_annotator
from assess.annotate.preflight import estimate_tokens, plan, prompt_tokens
from assess.cli import main
from assess.rubrics import load_rubrics
from assess.sources import read_battery
from faultserver import FaultServer
from test_annotate_http import http_annotator

PRICE = "price: {prompt_per_token: 0.000002, completion_per_token: 0.00001}"


def _cli(tmp_path, annotator, *extra: str) -> int:
    return main(["annotate", str(tmp_path / "battery.csv"), "--annotator", str(annotator), "--cache",
                 str(tmp_path / "c.sqlite"), *extra])


def test_dry_run_prints_requests_tokens_and_cost_and_sends_nothing(tmp_path, capsys) -> None:
    write_battery(tmp_path)
    with FaultServer() as server:
        annotator = http_annotator(tmp_path, server.base_url, price=PRICE[len("price: "):])
        assert _cli(tmp_path, annotator, "--mode", "all-scales", "--dry-run") == 0
        assert server.answered_total == 0
    err = " ".join(capsys.readouterr().err.split())
    config = load_annotator(annotator)
    job = AnnotationJob.build(read_battery(tmp_path / "battery.csv"), config, load_rubrics(), None, "all-scales")
    sized = plan(job.requests, 0, config)
    assert sized.prompt_tokens == sum(prompt_tokens(r, estimate_tokens) for r in job.requests) > 3 * 10_000
    assert re.search(r"requests to send\W+3\b", err) and re.search(r"already answered \(cache\)\W+0\b", err)
    assert f"≈ {sized.prompt_tokens:,}" in err and f"≤ {sized.cost:.4f}" in err
    assert "nothing was sent" in err


def test_a_prompt_longer_than_the_context_stops_before_the_first_call(tmp_path, capsys) -> None:
    write_battery(tmp_path)
    with FaultServer() as server:
        annotator = http_annotator(tmp_path, server.base_url, options="{n_ctx: 4096}")
        assert _cli(tmp_path, annotator, "--mode", "all-scales") == 2
        assert server.answered_total == 0
        err = " ".join(capsys.readouterr().err.split())
        assert "the longest prompt (instance" in err and "the backend's context holds 4,096 tokens" in err
        assert "set options.n_ctx to at least" in err and "or use --mode per-scale" in err
        # the dry run says the same before anything is tried
        assert _cli(tmp_path, annotator, "--mode", "all-scales", "--dry-run") == 0
        assert "does not fit options.n_ctx = 4096" in " ".join(capsys.readouterr().err.split())
        # per-scale prompts fit and are asked
        assert _cli(tmp_path, annotator, "--mode", "per-scale", "--scales", "QLq") == 0
        assert server.answered_total == 3


def test_progress_is_plain_log_lines_when_stderr_is_not_a_terminal(tmp_path, capsys) -> None:
    write_battery(tmp_path)
    with FaultServer() as server:
        annotator = http_annotator(tmp_path, server.base_url)
        assert _cli(tmp_path, annotator, "--mode", "per-scale", "--scales", "QLq,QLl", "--log-every", "3600",
                    "--out", str(tmp_path / "out.csv")) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("annotating:")]
    # the first line, the last one, nothing in between with a long interval
    assert lines[0].startswith("annotating: 0/6 requests done") and lines[-1].startswith("annotating: 6/6 requests done")
    assert len(lines) == 2 and "━" not in err
    assert "all 3 row(s) have levels from this job" in " ".join(err.split())
    assert pd.read_csv(tmp_path / "out.csv")[["QLq", "QLl"]].notna().all().all()
