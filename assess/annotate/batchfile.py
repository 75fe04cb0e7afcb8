"""Batch files: export pending requests as OpenAI Batch API JSONL; import results through the same parser.

Export line (one per request still needing an answer)::

    {"custom_id": "<64 hex>", "method": "POST", "url": "/v1/chat/completions",
     "body": {"model": ..., "messages": [...], "max_tokens": ..., "temperature": ..., "seed": ...}}

``custom_id`` names the prompt, not only the request: the request's cache key for its first ask,
``<key>:r<n>`` for its n-th repair. Import stores a line only when it answers the prompt pending
now, so re-importing an old results file (providers hand back whole files) never counts as a repair.

Accepted result lines (any order, a subset is fine)::

    {"custom_id": ..., "response": {"status_code": 200, "body": {"choices": [{"message": {"content": "..."}}],
                                                                  "usage": {"prompt_tokens": n, "completion_tokens": m}}}}
    {"custom_id": ..., "content": "..."}                       # hand-written (optional "usage")
    {"custom_id": ..., "error": {...}}  or  status_code != 200  # provider error: left unanswered

Imported answers go through :func:`record_attempt` exactly like live ones: unparsable text is
stored as a failure with its raw text, and the next export carries a repair prompt for it while
repair attempts remain. Lines for requests already answered count as cache hits; lines answering
any other prompt than the pending one (an older attempt, a repair never exported, a failure with
no repairs left unless ``retry_failures``) are ignored and counted as ``stale``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_text
from ..backends import Completion
from ..backends.http import openai_request
from ..errors import InputError
from ..sources import iter_jsonl
from .attempts import generation_request, needs_asking, pending_requests, record_attempt
from .config import AnnotatorConfig
from .prompts import AnnotationRequest
from .store import AnnotationStore, StoredAnswer
from .summary import RunSummary

CHAT_URL = "/v1/chat/completions"
_REPAIR_ID = re.compile(r"(?P<key>.+):r[1-9][0-9]*")


def custom_id(request: AnnotationRequest, previous: StoredAnswer | None) -> str:
    """The id of the prompt a request gets next: its cache key first, ``<key>:r<n>`` for its n-th repair."""
    return request.key if previous is None else f"{request.key}:r{previous.attempts}"


def request_key(custom_id: str) -> str:
    """The cache key a custom_id belongs to (its repair suffix removed)."""
    repair = _REPAIR_ID.fullmatch(custom_id)
    return repair["key"] if repair else custom_id


def export_requests(requests: Sequence[AnnotationRequest], store: AnnotationStore, config: AnnotatorConfig,
                    path: str | Path, *, retry_failures: bool = False) -> int:
    """Write the requests that still need asking (repair prompts for failures with repairs left); return how many."""
    answers = store.get(r.key for r in requests)
    lines = []
    for request in pending_requests(requests, answers, config, retry_failures):
        previous = answers.get(request.key)
        _, body = openai_request(config.model, generation_request(request, previous, config))
        line = {"custom_id": custom_id(request, previous), "method": "POST", "url": CHAT_URL, "body": body}
        lines.append(json.dumps(line, ensure_ascii=False))
    write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


@dataclass(frozen=True)
class BatchResult:
    """One line of a results file: an answer, or the provider's error for that request."""

    line: int
    custom_id: str
    completion: Completion | None
    error: str | None


def read_results(path: str | Path) -> list[BatchResult]:
    """Parse a results JSONL (provider output or hand-written lines); errors name the file and line."""
    path = Path(path)
    results, seen = [], {}
    for number, item in iter_jsonl(path):
        result = _result(item, number, path)
        if result.custom_id in seen:
            raise InputError(f"line {number}: custom_id {result.custom_id!r} already given on line "
                             f"{seen[result.custom_id]}", source=path)
        seen[result.custom_id] = number
        results.append(result)
    return results


def _result(item: Any, number: int, path: Path) -> BatchResult:
    where = f"line {number}"
    if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str):
        raise InputError(f"{where}: expected an object with a string custom_id", source=path)
    custom_id = item["custom_id"]
    if "content" in item:
        if not isinstance(item["content"], str):
            raise InputError(f"{where}: content must be a string", source=path)
        return BatchResult(number, custom_id, _with_usage(item["content"], item.get("usage")), None)
    response = item.get("response")
    if item.get("error") or not isinstance(response, dict) or response.get("status_code") != 200:
        problem = item.get("error") or (response or {}).get("body") or "no response"
        return BatchResult(number, custom_id, None, json.dumps(problem)[:300])
    try:
        body = response["body"]
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as err:
        raise InputError(f"{where}: response.body has no choices[0].message.content", source=path) from err
    return BatchResult(number, custom_id, _with_usage(content or "", body.get("usage")), None)


def _with_usage(text: str, usage: Any) -> Completion:
    usage = usage if isinstance(usage, dict) else {}
    return Completion(text=text, prompt_tokens=int(usage.get("prompt_tokens") or 0),
                      completion_tokens=int(usage.get("completion_tokens") or 0))


def import_results(requests: Sequence[AnnotationRequest], store: AnnotationStore, config: AnnotatorConfig,
                   path: str | Path, *, retry_failures: bool = False) -> RunSummary:
    """Store every line answering a pending prompt as an answer or a failure; the whole file is checked first.

    A line counts only if its custom_id is the one :func:`export_requests` would write now (with the same
    ``retry_failures``); lines for requests already answered are cache hits, any other line is stale.
    """
    by_key = {request.key: request for request in requests}
    results = read_results(path)
    for result in results:
        if request_key(result.custom_id) not in by_key:
            raise InputError(f"line {result.line}: custom_id {result.custom_id!r} matches no request of this "
                             "battery, scale set, mode, rubric version and annotator", source=path)
    summary = RunSummary(requests=len(results))
    answers = store.get(by_key)
    awaited = {custom_id(r, answers.get(r.key)): r for r in pending_requests(requests, answers, config, retry_failures)}
    for result in results:
        previous = answers.get(request_key(result.custom_id))
        if previous is not None and previous.status == "ok":
            summary.cache_hits += 1
        elif result.custom_id not in awaited:
            summary.stale += 1
        elif result.completion is None:
            summary.unanswered += 1
        else:
            answer = record_attempt(awaited[result.custom_id], result.completion, previous, config,
                                    source=f"batch:{path}")
            store.put(answer, previous, config.price)
            answers[answer.key] = answer
            summary.count_call(previous, answer, config.price)
            if not needs_asking(answer, config):
                summary.count_final(answer)
    return summary
