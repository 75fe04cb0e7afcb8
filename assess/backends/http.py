"""OpenAI-compatible HTTP backend (OpenAI, vLLM serve, llama.cpp server, Ollama): async, pooled, retried."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from .base import BackendError, Completion, GenerationRequest
from .config import BackendConfig
from .retry import backoff_delay, parse_retry_after

#: Statuses worth another try: rate limits, request timeouts and server-side failures.
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class OpenAIHTTPBackend:
    """POSTs to ``{base_url}/chat/completions`` (or ``/completions`` for raw prompts) over one pooled client.

    Retries 429 / 5xx / timeouts / dropped connections with :func:`backoff_delay`; any other
    4xx fails at once. The API key goes only into the Authorization header, never into errors.
    """

    batch_size = 1

    def __init__(self, config: BackendConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.concurrency = config.concurrency
        #: The server's context window when the config declares it (``options.n_ctx``); None = unknown.
        self.context_tokens = int(config.options["n_ctx"]) if "n_ctx" in config.options else None
        self._url = str(config.base_url).rstrip("/")
        key = config.api_key()
        self._key = key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        limits = httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency)
        self._client = client or httpx.AsyncClient(headers=headers, limits=limits,
                                                   timeout=httpx.Timeout(config.retry.timeout_s))

    async def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        return list(await asyncio.gather(*(self.complete(request) for request in requests)))

    async def complete(self, request: GenerationRequest) -> Completion:
        """One request, retried per the policy; raises :class:`BackendError` naming it when retries run out."""
        path, body = openai_request(self.config.model, request)
        policy = self.config.retry
        last_problem = ""
        for attempt in range(1, policy.max_attempts + 1):
            retry_after = None
            try:
                response = await self._client.post(f"{self._url}{path}", json=body)
            except (httpx.TimeoutException, httpx.TransportError) as err:
                last_problem = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            else:
                if response.status_code == 200:
                    try:
                        return _completion(response, retries=attempt - 1)
                    except ValueError as err:  # a truncated or mangled body: worth another try
                        last_problem = str(err)
                else:
                    last_problem = f"HTTP {response.status_code}: {response.text[:200]}"
                    if response.status_code not in RETRYABLE_STATUS:
                        break
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            if attempt < policy.max_attempts:
                await asyncio.sleep(backoff_delay(attempt, policy, retry_after))
        if self._key:  # a server or transport error that quotes the key must not print it
            last_problem = last_problem.replace(self._key, "<api key>")
        raise BackendError(f"{self._url}{path}: request {request.label or '<unlabelled>'} failed after "
                           f"{attempt} attempt(s): {last_problem}")

    async def aclose(self) -> None:
        await self._client.aclose()


def openai_request(model: str, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
    """The OpenAI API path (relative to ``/v1``) and JSON body of a request; also the body of a batch-file line."""
    body: dict[str, Any] = {"model": model, "max_tokens": request.max_tokens, "temperature": request.temperature}
    if request.seed is not None:
        body["seed"] = request.seed
    if request.stop:
        body["stop"] = list(request.stop)
    if request.messages is not None:
        return "/chat/completions", {**body, "messages": list(request.messages)}
    return "/completions", {**body, "prompt": request.prompt}


def _completion(response: httpx.Response, retries: int) -> Completion:
    """Read an OpenAI-shaped body; raise ValueError quoting the body when it is not one."""
    try:
        payload = response.json()
        choice = payload["choices"][0]
        text = choice["message"]["content"] if "message" in choice else choice["text"]
    except (ValueError, KeyError, IndexError, TypeError) as err:
        raise ValueError(f"response is not an OpenAI completion ({type(err).__name__}): "
                         f"{response.text[:200]!r}") from err
    usage = payload.get("usage") or {}
    return Completion(text=text or "", prompt_tokens=int(usage.get("prompt_tokens") or 0),
                      completion_tokens=int(usage.get("completion_tokens") or 0),
                      finish_reason=str(choice.get("finish_reason") or ""), retries=retries)
