"""One step of the ask → parse → (repair) cycle, shared by the live engine and batch-file import.

After every answer the request's :class:`StoredAnswer` is rebuilt: ``ok`` with levels, or ``failed``
with the parse problem; the raw text joins its transcript either way. A failed answer with attempts
left is asked again with a repair prompt (live) or exported as one (batch files).
"""
from __future__ import annotations

from collections.abc import Sequence

from ..backends import Completion, GenerationRequest, Message
from .config import AnnotatorConfig
from .parse import ParseError, parse_answer
from .prompts import AnnotationRequest, repair_messages
from .store import StoredAnswer


def annotator_id(config: AnnotatorConfig) -> str:
    """The annotator identity that enters cache keys: its name and model."""
    return f"{config.name}|{config.model}"


def needs_asking(answer: StoredAnswer | None, config: AnnotatorConfig) -> bool:
    """True when a request has no answer yet, or a failed one with repair attempts left."""
    return answer is None or (answer.status == "failed" and answer.attempts < 1 + config.repair_attempts)


def pending_requests(requests: Sequence[AnnotationRequest], answers: dict[str, StoredAnswer],
                     config: AnnotatorConfig, retry_failures: bool) -> list[AnnotationRequest]:
    """Requests with no answer, or a failed one with repairs left; with ``retry_failures`` also every
    exhausted failure, which then gets one more repair attempt (its transcript keeps growing)."""
    return [r for r in requests if needs_asking(answers.get(r.key), config)
            or (retry_failures and answers[r.key].status == "failed")]


def next_messages(request: AnnotationRequest, answer: StoredAnswer | None) -> tuple[Message, ...]:
    """The original prompt, or a repair prompt quoting the last unusable answer."""
    if answer is None:
        return request.messages
    return repair_messages(request.messages, answer.raw_text, str(answer.error), request.mode)


def generation_request(request: AnnotationRequest, answer: StoredAnswer | None,
                       config: AnnotatorConfig) -> GenerationRequest:
    return config.generation.request(messages=next_messages(request, answer), label=request.label)


def record_attempt(request: AnnotationRequest, completion: Completion, previous: StoredAnswer | None,
                   config: AnnotatorConfig, source: str) -> StoredAnswer:
    """Parse one answer and fold it into the request's record (tokens and retries add up)."""
    try:
        levels, error = parse_answer(completion.text, request.scales, request.mode, request.kinds), None
    except ParseError as err:
        levels, error = None, str(err)
    transcript = (previous.transcript if previous else []) + [{"text": completion.text, "problem": error}]
    return StoredAnswer(
        key=request.key, instance_id=request.instance_id, instance_hash=request.instance_hash,
        scales=request.scales, mode=request.mode, annotator=annotator_id(config),
        rubric_hash=request.rubric_hash, prompt_hash=request.prompt_hash,
        status="ok" if levels is not None else "failed", levels=levels, error=error, transcript=transcript,
        prompt_tokens=(previous.prompt_tokens if previous else 0) + completion.prompt_tokens,
        completion_tokens=(previous.completion_tokens if previous else 0) + completion.completion_tokens,
        retries=(previous.retries if previous else 0) + completion.retries, source=source)
