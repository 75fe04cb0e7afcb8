"""The one interface every text-generation backend implements, and its request/answer records."""
from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..errors import AssessError

#: A chat message in the OpenAI shape: {"role": "system"|"user"|"assistant", "content": str}.
Message = dict[str, str]


class BackendError(AssessError):
    """A request that could not be answered (after the backend's retries); names the request and the cause."""


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: chat ``messages`` or a raw ``prompt`` (exactly one of them), plus sampling settings."""

    messages: tuple[Message, ...] | None = None
    prompt: str | None = None
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    #: Free label shown in error messages (e.g. "instance mmlu_pro/12, scale QLq").
    label: str = ""

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("a GenerationRequest needs exactly one of messages or prompt")


@dataclass(frozen=True)
class Completion:
    """A backend's answer: the text and what it cost in tokens."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""
    #: Transport retries the backend needed for this answer (429, 5xx, timeouts, dropped connections).
    retries: int = 0
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """A text generator. ``generate`` answers a batch (in order) or raises :class:`BackendError`."""

    #: How many requests one ``generate`` call should carry (1 for HTTP; the batch size in process).
    batch_size: int
    #: How many ``generate`` calls may be in flight at once (HTTP: the configured concurrency; in process: 1).
    concurrency: int

    async def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]: ...

    async def aclose(self) -> None: ...


class LogLikelihoodBackend(Backend, Protocol):
    """An in-process backend that can also score continuations (multiple-choice ranking)."""

    def loglikelihoods(self, context: str, continuations: Sequence[str]) -> list[float]: ...


class InProcessBackend(ABC):
    """Shared plumbing for backends running a model in this process: batching off the event loop."""

    concurrency = 1

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size

    async def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        return await asyncio.to_thread(self.generate_sync, list(requests))

    @abstractmethod
    def generate_sync(self, requests: list[GenerationRequest]) -> list[Completion]:
        """Answer a batch synchronously (runs in a worker thread)."""

    async def aclose(self) -> None:
        return None


def continuation_start(context_ids: Sequence[int], full_ids: Sequence[int]) -> int:
    """Index of the first token of a continuation in ``tokenize(context + continuation)``.

    It is where that tokenisation leaves the context's own (so merges across the boundary are
    scored as the model sees them); at least 1 (something to condition on), at most len(full) - 1.
    """
    shared = next((i for i, (a, b) in enumerate(zip(context_ids, full_ids)) if a != b),
                  min(len(context_ids), len(full_ids)))
    return min(max(shared, 1), len(full_ids) - 1)
