"""The backend part of a YAML config (annotator.yaml, subjects.yaml): which server or model, how to call it."""
from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import InputError
from ..registry import BACKENDS
from ..yamlio import LocatedValueError
from .base import GenerationRequest

#: The backend kind with no live generator: requests are exported and answers imported as files.
BATCH_FILE = "batch-file"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryPolicy(_Strict):
    """Transport retries: exponential backoff with full jitter, honouring Retry-After on 429/503."""

    max_attempts: int = Field(6, ge=1, description="tries per request, the first included")
    initial_delay_s: float = Field(1.0, ge=0)
    max_delay_s: float = Field(60.0, ge=0)
    timeout_s: float = Field(120.0, gt=0, description="per HTTP request")


class GenerationSettings(_Strict):
    """Sampling settings applied to every request built from this config."""

    max_tokens: int = Field(512, ge=1)
    temperature: float = Field(0.0, ge=0)
    seed: int | None = 0
    stop: tuple[str, ...] = ()

    def request(self, *, label: str, messages: tuple | None = None, prompt: str | None = None) -> GenerationRequest:
        """A generation request for ``messages`` (chat) or ``prompt`` (raw) under these settings."""
        return GenerationRequest(messages=messages, prompt=prompt, max_tokens=self.max_tokens,
                                 temperature=self.temperature, seed=self.seed, stop=tuple(self.stop), label=label)


class Price(_Strict):
    """Optional price in currency units per token, for the cost estimate."""

    prompt_per_token: float = Field(0.0, ge=0)
    completion_per_token: float = Field(0.0, ge=0)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return prompt_tokens * self.prompt_per_token + completion_tokens * self.completion_per_token


class BackendConfig(_Strict):
    """Where generations come from. ``options`` holds backend-specific keys (n_ctx, device, batch_size, ...)."""

    backend: str = Field(description="a kind of assess.registry.BACKENDS, or batch-file")
    model: str = Field(..., min_length=1)
    base_url: str | None = None
    api_key_env: str | None = Field(None, description="NAME of the environment variable holding the key")
    concurrency: int = Field(8, ge=1)
    retry: RetryPolicy = RetryPolicy()
    generation: GenerationSettings = GenerationSettings()
    price: Price | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        known = BACKENDS.names() + (BATCH_FILE,)
        if value not in known:
            raise ValueError(f"unknown backend {value!r}; choose one of {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _http_needs_url(self) -> BackendConfig:
        if self.backend == "openai" and not self.base_url:
            raise LocatedValueError(("base_url",), "backend 'openai' needs base_url (e.g. http://127.0.0.1:8000/v1)")
        return self

    def api_key(self) -> str | None:
        """The key read from the environment variable named by ``api_key_env`` (never stored anywhere)."""
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise InputError(f"environment variable {self.api_key_env!r} named by api_key_env is not set",
                             column="api_key_env")
        check_api_key(key, self.api_key_env)
        return key


def check_api_key(key: str, variable: str) -> None:
    """Refuse a key that cannot go into an HTTP header (whitespace, control or non-ASCII characters).

    The message says where the first bad character is, never what the key is.
    """
    bad = next((i for i, char in enumerate(key) if not "!" <= char <= "~"), None)
    if bad is not None:
        what = "whitespace or a control character" if ord(key[bad]) < 128 else "a non-ASCII character"
        raise InputError(f"the API key in environment variable {variable!r} has {what} at position {bad + 1} "
                         f"of {len(key)}; keys are printable ASCII without spaces (check for a stray newline)",
                         column="api_key_env")
