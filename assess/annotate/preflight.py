"""Before the first call: how many requests, how many prompt tokens, what it may cost, and whether it fits.

:func:`plan` sizes the pending requests of a job (``assess annotate --dry-run`` prints it);
:func:`check_context` refuses to start when the longest prompt plus the answer budget exceeds the
backend's context window. Token counts are exact when the backend can tokenize (in-process
llama-cpp and transformers: ``count_tokens``) and otherwise estimated at four characters per
token (the usual rule of thumb for English with BPE tokenizers), marked as estimates. Each message
adds :data:`MESSAGE_OVERHEAD` tokens for the chat template's role markers.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import InputError
from .config import AnnotatorConfig
from .prompts import AnnotationRequest

#: Characters per token when the backend cannot count (an estimate).
CHARS_PER_TOKEN = 4
#: Tokens a chat template adds per message (role markers, separators).
MESSAGE_OVERHEAD = 8


def estimate_tokens(text: str) -> int:
    """Tokens ``text`` would take at :data:`CHARS_PER_TOKEN` characters per token (rounded up)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def prompt_tokens(request: AnnotationRequest, count: Callable[[str], int]) -> int:
    """Tokens of a request's first prompt under a counter, with the chat template's per-message allowance."""
    return sum(count(m["content"]) + MESSAGE_OVERHEAD for m in request.messages)


@dataclass(frozen=True)
class Plan:
    """The size of a run before it starts: requests to send, prompt tokens, the longest prompt, the cost bound."""

    requests: int
    cached: int
    prompt_tokens: int
    longest_prompt: int
    longest_label: str
    max_completion_tokens: int
    cost: float | None
    exact: bool

    def rows(self) -> list[tuple[str, str]]:
        """(name, value) lines for display; ``≈`` marks estimated counts."""
        approx = "" if self.exact else "≈ "
        cost = "n/a (no price set)" if self.cost is None else f"≤ {self.cost:.4f}"
        return [("requests to send", str(self.requests)), ("already answered (cache)", str(self.cached)),
                ("prompt tokens", f"{approx}{self.prompt_tokens:,}"),
                ("longest prompt", f"{approx}{self.longest_prompt:,} tokens ({self.longest_label})"),
                ("completion tokens (at most)", f"{self.max_completion_tokens:,}"),
                ("estimated cost (first asks, repairs extra)", cost)]


def plan(todo: Sequence[AnnotationRequest], cached: int, config: AnnotatorConfig,
         count: Callable[[str], int] | None = None) -> Plan:
    """Size the first asks of the pending requests (repairs, when needed, come on top)."""
    counter = count or estimate_tokens
    sizes = [prompt_tokens(r, counter) for r in todo]
    longest = max(range(len(todo)), key=sizes.__getitem__) if todo else None
    completion = config.generation.max_tokens * len(todo)
    cost = config.price.cost(sum(sizes), completion) if config.price is not None else None
    return Plan(requests=len(todo), cached=cached, prompt_tokens=sum(sizes),
                longest_prompt=sizes[longest] if longest is not None else 0,
                longest_label=todo[longest].label if longest is not None else "-",
                max_completion_tokens=completion, cost=cost, exact=count is not None)


def check_context(todo: Sequence[AnnotationRequest], config: AnnotatorConfig, context: int | None,
                  count: Callable[[str], int] | None = None, *, candidates: int = 3) -> None:
    """Raise :class:`InputError` when the longest prompt and the answer budget do not fit ``context`` tokens.

    Only the ``candidates`` longest prompts (by characters) are counted, so exact counting stays cheap.
    """
    if context is None or not todo:
        return
    counter = count or estimate_tokens
    longest = sorted(todo, key=lambda r: -sum(len(m["content"]) for m in r.messages))[:candidates]
    sizes = [(prompt_tokens(r, counter), r) for r in longest]
    size, request = max(sizes, key=lambda pair: pair[0])
    needed = size + config.generation.max_tokens
    if needed > context:
        approx = "" if count is not None else "about "
        per_scale = " or use --mode per-scale (one rubric per prompt)" if request.mode == "all-scales" else ""
        raise InputError(f"the longest prompt ({request.label}) takes {approx}{size:,} tokens plus up to "
                         f"{config.generation.max_tokens} for the answer, but the backend's context holds {context:,} "
                         f"tokens: set options.n_ctx to at least {needed:,}{per_scale}", column="options.n_ctx")
