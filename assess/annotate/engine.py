"""The live annotation run: a context check, bounded-concurrency scheduling, repairs, progress, a closing summary.

Each request's answer is committed to the store the moment it arrives (including a failed parse
that will be repaired), so a run killed at any moment resumes where it stopped; only requests that
were in flight are asked again. A request the backend cannot answer after its transport retries
(:class:`~assess.backends.BackendError`) stops the run with that error; everything already answered
stays in the store. Before the first call, :func:`~.preflight.check_context` refuses prompts that
do not fit the backend's context. Progress goes to an optional ``progress`` callback (:mod:`assess.progress`)
(the CLI draws it); the library prints nothing. Processes sharing one cache claim
requests before asking them, so each request is paid for once however many runs work on it.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence

from ..backends import Backend, make_backend
from ..leases import Leases
from ..progress import ProgressCallback, report
from ..runs.config import resolve_model
from .attempts import generation_request, needs_asking, pending_requests, record_attempt
from .config import AnnotatorConfig
from .preflight import check_context
from .prompts import AnnotationRequest
from .store import AnnotationStore, StoredAnswer
from .summary import RunSummary

#: Seconds between looks at the store for answers another process is producing.
POLL_S = 0.2


async def annotate(requests: Sequence[AnnotationRequest], backend: Backend, store: AnnotationStore,
                   config: AnnotatorConfig, *, retry_failures: bool = False,
                   progress: ProgressCallback | None = None) -> RunSummary:
    """Answer every request not yet in the store; return the run's summary (also recorded in the store).

    ``progress`` receives ``annotating`` events: requests finished of those to ask.
    Requests are claimed (:class:`~assess.leases.Leases`) before they are asked: another process
    on the same cache skips what this one is asking and takes its answers from the store.
    """
    started = time.monotonic()
    answers = store.get(r.key for r in requests)
    todo = pending_requests(requests, answers, config, retry_failures)
    check_context(todo, config, getattr(backend, "context_tokens", None), getattr(backend, "count_tokens", None))
    summary = RunSummary(requests=len(requests), cache_hits=len(requests) - len(todo))
    leases = Leases(store.path)
    shared = _SharedWork(todo, answers, store, leases, config, backend.batch_size)
    done = 0

    def advance() -> None:
        nonlocal done
        done += 1
        report(progress, "annotating", done, len(todo))

    async def worker() -> None:
        while (batch := await shared.next_batch(summary, advance)) is not None:
            for request in await _ask_until_done(batch, backend, store, config, answers, summary):
                summary.count_final(answers[request.key])
                advance()
            leases.release(r.key for r in batch)

    report(progress, "annotating", 0, len(todo))
    renewer = asyncio.create_task(leases.keep_renewed())
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(backend.concurrency, -(-len(todo) // backend.batch_size))):
                group.create_task(worker())
    except BaseExceptionGroup as group_error:
        raise group_error.exceptions[0] from None
    finally:
        renewer.cancel()
        leases.close()
        summary.elapsed_s = round(time.monotonic() - started, 3)
        store.record_run(config.name, requests[0].mode if requests else "", summary.as_dict())
    return summary


class _SharedWork:
    """The requests left to ask, handed out in claimed batches; those claimed elsewhere wait for their answer."""

    def __init__(self, todo: list[AnnotationRequest], answers: dict[str, StoredAnswer], store: AnnotationStore,
                 leases: Leases, config: AnnotatorConfig, batch_size: int) -> None:
        self.queue, self.waiting = deque(todo), deque()
        self.answers, self.store, self.leases, self.config, self.batch_size = answers, store, leases, config, batch_size
        self.attempts_seen = {r.key: answers[r.key].attempts if r.key in answers else 0 for r in todo}

    async def next_batch(self, summary: RunSummary, advance) -> list[AnnotationRequest] | None:
        """Up to ``batch_size`` requests claimed by this process, or None when nothing is left to ask here."""
        while self.queue or self.waiting:
            if self.queue:
                source = self.queue
            else:
                await asyncio.sleep(POLL_S)
                source = self.waiting
            batch = [source.popleft() for _ in range(min(self.batch_size, len(source)))]
            if not batch:
                continue
            ours = self.leases.claim([r.key for r in batch])
            fresh = self.store.get(r.key for r in batch)
            ready = []
            for request in batch:
                answer = fresh.get(request.key)
                if answer is not None and answer.attempts > self.attempts_seen[request.key] \
                        and not needs_asking(answer, self.config):
                    self.answers[request.key] = answer  # answered by another process meanwhile
                    summary.cache_hits += 1
                    advance()
                elif request.key in ours:
                    if answer is not None:
                        self.answers[request.key] = answer
                    ready.append(request)
                else:
                    self.waiting.append(request)
            self.leases.release(r.key for r in batch if r not in ready and r.key in ours)
            if ready:
                return ready
        return None


async def _ask_until_done(batch: list[AnnotationRequest], backend: Backend, store: AnnotationStore,
                          config: AnnotatorConfig, answers: dict[str, StoredAnswer],
                          summary: RunSummary) -> list[AnnotationRequest]:
    """Ask a batch, then re-ask its unparsable answers with repair prompts while attempts remain."""
    pending = batch
    while pending:
        completions = await backend.generate([generation_request(r, answers.get(r.key), config) for r in pending])
        entries = []
        for request, completion in zip(pending, completions, strict=True):
            previous = answers.get(request.key)
            answers[request.key] = record_attempt(request, completion, previous, config, source="backend")
            entries.append((answers[request.key], previous))
        store.put_many(entries, config.price)
        for answer, previous in entries:
            summary.count_call(previous, answer, config.price)
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
