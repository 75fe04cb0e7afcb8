"""Solvers: turn samples into raw outputs through a backend (kept apart from scoring).

``GenerateSolver`` asks the backend for a completion of the prompt (or a chat turn holding it);
``RankSolver`` scores each candidate answer's log-likelihood after the prompt and answers the
likeliest one, the usual way to evaluate base models on closed-answer items.
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..backends import Backend, GenerationRequest, GenerationSettings
from ..errors import InputError
from .dataset import Sample


@dataclass(frozen=True)
class Generation:
    """A solver's raw answer to one sample and the tokens it took."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Solver(Protocol):
    """Answers a batch of samples, in order; ``settings`` are recorded with the outcomes and in cache keys."""

    name: str
    backend: Backend
    batch_size: int
    concurrency: int

    def settings(self) -> dict[str, Any]: ...

    async def solve(self, samples: Sequence[Sample]) -> list[Generation]: ...


class GenerateSolver:
    """Free generation: the rendered prompt as a raw completion prompt, or as one user message (``chat``)."""

    name = "generate"

    def __init__(self, backend: Backend, generation: GenerationSettings, chat: bool = False) -> None:
        self.backend, self.generation, self.chat = backend, generation, chat
        self.batch_size, self.concurrency = backend.batch_size, backend.concurrency

    def settings(self) -> dict[str, Any]:
        return {"solver": self.name, "chat": self.chat, **self.generation.model_dump()}

    def request(self, sample: Sample) -> GenerationRequest:
        """The backend request for one sample, labelled with its instance id for error messages."""
        text = {"messages": ({"role": "user", "content": sample.prompt},)} if self.chat else {"prompt": sample.prompt}
        return self.generation.request(**text, label=f"instance {sample.instance_id}")

    async def solve(self, samples: Sequence[Sample]) -> list[Generation]:
        completions = await self.backend.generate([self.request(sample) for sample in samples])
        return [Generation(c.text, c.prompt_tokens, c.completion_tokens, {"finish_reason": c.finish_reason})
                for c in completions]


class RankSolver:
    """Log-likelihood ranking: the answer is the candidate whose continuation " <candidate>" is likeliest."""

    name = "rank"

    def __init__(self, backend: Backend) -> None:
        if not callable(getattr(backend, "loglikelihoods", None)):
            raise InputError(f"solver 'rank' needs a backend that scores log-likelihoods (llama-cpp, transformers); "
                             f"{type(backend).__name__} does not", column="solver")
        self.backend = backend
        self.batch_size, self.concurrency = 1, 1

    def settings(self) -> dict[str, Any]:
        return {"solver": self.name, "continuation": " <candidate>"}

    def rank(self, sample: Sample) -> Generation:
        """Score every candidate of one sample and answer the likeliest (first one on ties)."""
        if not sample.candidates:
            raise InputError(f"solver 'rank' needs closed answers; this item is {sample.answer_format} "
                             "(use solver: generate)", instance_id=sample.instance_id, column="answer_format")
        continuations = [f" {c}" for c in sample.candidates]
        scores = self.backend.loglikelihoods(sample.prompt, continuations)
        best = max(range(len(scores)), key=lambda i: scores[i])
        return Generation(sample.candidates[best], prompt_tokens=self.tokens(sample.prompt, continuations),
                          extra={"loglikelihoods": dict(zip(sample.candidates, scores))})

    def tokens(self, context: str, continuations: list[str]) -> int:
        """Tokens scored for one sample (context once, each continuation), when the backend can count them."""
        count = getattr(self.backend, "count_tokens", None)
        if count is None:
            return 0
        return count(context) + sum(count(c) - 1 for c in continuations)  # minus the BOS each count includes

    async def solve(self, samples: Sequence[Sample]) -> list[Generation]:
        return [await asyncio.to_thread(self.rank, sample) for sample in samples]
