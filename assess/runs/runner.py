"""Run a subject on samples: generate what is not cached, score everything, summarise the throughput.

Generations are committed to the cache batch by batch, so an interrupted run resumes where it
stopped; scores are recomputed on every run (cheap, and a fixed scorer never needs new
generations). Progress goes to a callback as ``generating`` events (items generated of those
missing); the CLI draws it.
"""
from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from ..progress import ProgressCallback, report
from .dataset import Sample
from .scorers import Scorer
from .solvers import Generation, Solver
from .store import RunCache, cache_key

@dataclass(frozen=True)
class RunSummary:
    """What a run did: items, how many came from the cache, accuracy and throughput of new generations."""

    subject: str
    items: int
    cached: int
    generated: int
    seconds: float
    prompt_tokens: int
    completion_tokens: int
    accuracy: float
    unparsable: int

    @property
    def items_per_s(self) -> float:
        return self.generated / self.seconds if self.seconds > 0 else float("nan")

    @property
    def tokens_per_s(self) -> float:
        """Prompt and completion tokens per second of new generations (NaN when the backend counts none)."""
        tokens = self.prompt_tokens + self.completion_tokens
        return tokens / self.seconds if self.seconds > 0 and tokens else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "items_per_s": self.items_per_s, "tokens_per_s": self.tokens_per_s}

    def text(self) -> str:
        if self.generated:
            tokens = f", {self.tokens_per_s:.0f} tokens/s" if math.isfinite(self.tokens_per_s) else ""
            speed = f"{self.generated} generated in {self.seconds:.1f} s: {self.items_per_s:.2f} items/s{tokens}"
        else:
            speed = "nothing generated"
        return (f"{self.subject}: {self.items} items ({self.cached} cached, {speed}); "
                f"accuracy {self.accuracy:.3f}, {self.unparsable} without a parsable answer")


def sample_keys(samples: Sequence[Sample], identity: dict[str, Any]) -> list[str]:
    """Cache key of each sample: what the subject is (model, solver settings) and exactly what it is asked."""
    return [cache_key({**identity, "instance_id": s.instance_id, "prompt": s.prompt, "candidates": s.candidates})
            for s in samples]


async def generate_missing(samples: Sequence[Sample], keys: Sequence[str], solver: Solver, cache: RunCache,
                           progress: ProgressCallback | None = None
                           ) -> tuple[dict[str, dict[str, Any]], set[str], float]:
    """Generate every sample whose key is not cached, committing each batch.

    Returns the payload of every key, the keys generated now and the seconds spent generating.
    """
    payloads = cache.get_many(keys)
    todo = [(s, k) for s, k in zip(samples, keys) if k not in payloads]
    batches = [todo[i:i + solver.batch_size] for i in range(0, len(todo), solver.batch_size)]
    gate = asyncio.Semaphore(solver.concurrency)
    started = time.perf_counter()
    done = 0
    report(progress, "generating", 0, len(todo))

    async def run_batch(batch: list[tuple[Sample, str]]) -> None:
        nonlocal done
        async with gate:
            generations = await solver.solve([s for s, _ in batch])
        fresh = {k: _payload(g) for (_, k), g in zip(batch, generations)}
        cache.put_many(fresh)
        payloads.update(fresh)
        done += len(batch)  # batches finish in any order
        report(progress, "generating", done, len(todo))

    tasks = [asyncio.create_task(run_batch(batch)) for batch in batches]
    try:
        await asyncio.gather(*tasks)
    except BaseException:  # the first failure ends the run; finished batches are already committed
        for pending in tasks:
            pending.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return payloads, {k for _, k in todo}, time.perf_counter() - started


def _payload(generation: Generation) -> dict[str, Any]:
    return {"text": generation.text, "prompt_tokens": generation.prompt_tokens,
            "completion_tokens": generation.completion_tokens, "extra": generation.extra}


async def run_samples(samples: Sequence[Sample], solver: Solver, scorer: Scorer, cache: RunCache, subject: str,
                      identity: dict[str, Any], progress: ProgressCallback | None = None
                      ) -> tuple[pd.DataFrame, RunSummary]:
    """Outcomes (subject, instance_id, correct, [score,] raw_output, extracted) of ``samples`` and the run's summary.

    ``score`` (graded credit in [0, 1]) is there when the scorer gives partial credit.
    """
    keys = sample_keys(samples, {**identity, **solver.settings()})
    payloads, new_keys, seconds = await generate_missing(samples, keys, solver, cache, progress)
    new = [payloads[k] for k in new_keys]
    scores = [await scorer.score(s, payloads[k]["text"]) for s, k in zip(samples, keys)]
    outcomes = pd.DataFrame({
        "subject": subject,
        "instance_id": [s.instance_id for s in samples],
        "correct": [int(score.correct) for score in scores],
        "raw_output": [payloads[k]["text"] for k in keys],
        "extracted": [score.extracted for score in scores],
    })
    if scores and all(score.score is not None for score in scores):
        outcomes.insert(3, "score", [score.score for score in scores])
    summary = RunSummary(
        subject=subject, items=len(samples), cached=len(samples) - len(new), generated=len(new),
        seconds=seconds if new else 0.0,
        prompt_tokens=sum(p["prompt_tokens"] for p in new), completion_tokens=sum(p["completion_tokens"] for p in new),
        accuracy=float(outcomes["correct"].mean()) if len(outcomes) else float("nan"),
        unparsable=int(outcomes["extracted"].isna().sum()))
    return outcomes, summary
