"""Backoff arithmetic for transport retries: exponential with full jitter, Retry-After honoured."""
from __future__ import annotations

import random
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone

from .config import RetryPolicy


def backoff_delay(attempt: int, policy: RetryPolicy, retry_after_s: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 1).

    A server's Retry-After wins when given (capped at ``max_delay_s``); otherwise a uniform draw
    in [0, min(max_delay, initial * 2**(attempt-1))] — full jitter spreads a burst of 429s apart.
    """
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), policy.max_delay_s)
    ceiling = min(policy.max_delay_s, policy.initial_delay_s * 2 ** (attempt - 1))
    return (rng or random).uniform(0.0, ceiling)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)
