"""The live annotation run: a context check, bounded-concurrency scheduling, repairs, progress, a closing summary.

Each request's answer is committed to the store the moment it arrives (including a failed parse
that will be repaired), so a run killed at any moment resumes where it stopped; only requests that
were in flight are asked again. A request the backend cannot answer after its transport retries
(:class:`~assess.backends.BackendError`) stops the run with that error; everything already answered
stays in the store. Before the first call, :func:`~.preflight.check_context` refuses prompts that
do not fit the backend's context. Progress goes to an optional callback ``progress(done, total)``
(the CLI draws it); the library prints nothing.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from ..backends import Backend, make_backend
from ..progress import ProgressCallback, report
from ..runs.config import resolve_model
from .attempts import generation_request, needs_asking, pending_requests, record_attempt
from .config import AnnotatorConfig
from .preflight import check_context
from .prompts import AnnotationRequest
from .store import AnnotationStore, StoredAnswer
from .summary import RunSummary


async def annotate(requests: Sequence[AnnotationRequest], backend: Backend, store: AnnotationStore,
                   config: AnnotatorConfig, *, retry_failures: bool = False,
                   progress: ProgressCallback | None = None) -> RunSummary:
    """Answer every request not yet in the store; return the run's summary (also recorded in the store).

    ``progress`` receives ``annotating`` events: requests finished of those to ask.
    """
    started = time.monotonic()
    answers = store.get(r.key for r in requests)
    todo = pending_requests(requests, answers, config, retry_failures)
    check_context(todo, config, getattr(backend, "context_tokens", None), getattr(backend, "count_tokens", None))
    summary = RunSummary(requests=len(requests), cache_hits=len(requests) - len(todo))
    batches = [todo[i:i + backend.batch_size] for i in range(0, len(todo), backend.batch_size)]
    queue: asyncio.Queue[list[AnnotationRequest]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    done = 0

    async def worker() -> None:
        nonlocal done
        while not queue.empty():
            batch = queue.get_nowait()
            for request in await _ask_until_done(batch, backend, store, config, answers, summary):
                summary.count_final(answers[request.key])
                done += 1
                report(progress, "annotating", done, len(todo))

    report(progress, "annotating", 0, len(todo))
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(backend.concurrency, len(batches))):
                group.create_task(worker())
    except BaseExceptionGroup as group_error:
        raise group_error.exceptions[0] from None
    finally:
        summary.elapsed_s = round(time.monotonic() - started, 3)
        store.record_run(config.name, requests[0].mode if requests else "", summary.as_dict())
    return summary


async def _ask_until_done(batch: list[AnnotationRequest], backend: Backend, store: AnnotationStore,
                          config: AnnotatorConfig, answers: dict[str, StoredAnswer],
                          summary: RunSummary) -> list[AnnotationRequest]:
    """Ask a batch, then re-ask its unparsable answers with repair prompts while attempts remain."""
    pending = batch
    while pending:
        completions = await backend.generate([generation_request(r, answers.get(r.key), config) for r in pending])
        for request, completion in zip(pending, completions, strict=True):
            previous = answers.get(request.key)
            answers[request.key] = record_attempt(request, completion, previous, config, source="backend")
            store.put(answers[request.key])
            summary.count_call(previous, answers[request.key], config.price)
        pending = [r for r in pending if needs_asking(answers[r.key], config)]
    return batch


def run_live(requests: Sequence[AnnotationRequest], store: AnnotationStore, config: AnnotatorConfig, *,
             retry_failures: bool = False, progress: ProgressCallback | None = None) -> RunSummary:
    """Synchronous entry point: build the config's backend (a model package name resolved to its file),
    :func:`annotate`, close the backend."""
    backend = make_backend(resolve_model(config))

    async def run() -> RunSummary:
        try:
            return await annotate(requests, backend, store, config, retry_failures=retry_failures, progress=progress)
        finally:
            await backend.aclose()

    return asyncio.run(run())
