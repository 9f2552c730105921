"""Retries with exponential backoff and jitter for transient provider faults (429, 5xx, timeouts)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from promptlearn.errors import ProviderDown
from promptlearn.lm.base import LM, Completion, LMRequest

TRANSIENT_NAMES = {
    "RateLimitError", "APIConnectionError", "Timeout", "APITimeoutError", "InternalServerError",
    "ServiceUnavailableError", "BadGatewayError", "TransientFault", "TimeoutError", "ConnectionError",
}


def is_transient(exc: BaseException) -> bool:
    return type(exc).__name__ in TRANSIENT_NAMES or getattr(exc, "status_code", None) in (408, 429, 500, 502, 503, 504)


def retry_after_seconds(exc: BaseException) -> float | None:
    """Honour a provider's Retry-After (on the exception, or in its response headers)."""
    value = getattr(exc, "retry_after", None)
    if value is None:
        headers = getattr(getattr(exc, "response", None), "headers", None) or {}
        value = headers.get("retry-after") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@dataclass
class RetryStats:
    retries: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"retries": self.retries, "by_kind": dict(self.faults)}


class RetryingLM:
    """Retries transient faults; after `max_retries` raises ProviderDown so the run stops cleanly (resumable)."""

    def __init__(self, inner: LM, max_retries: int = 5, base_delay: float = 0.5, max_delay: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, seed: int | None = None):
        self.inner, self.max_retries, self.base_delay, self.max_delay = inner, max_retries, base_delay, max_delay
        self._sleep = sleep
        self._rng = random.Random(seed)
        self.stats = RetryStats()

    def complete(self, request: LMRequest) -> Completion:
        for attempt in range(self.max_retries + 1):
            try:
                return self.inner.complete(request)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                kind = getattr(exc, "kind", type(exc).__name__)
                self.stats.faults[kind] = self.stats.faults.get(kind, 0) + 1
                if attempt == self.max_retries:
                    raise ProviderDown(
                        f"{request.model} kept failing ({kind}) after {self.max_retries} retries; "
                        "the run was saved: resume it later with --resume"
                    ) from exc
                self.stats.retries += 1
                self._sleep(self._delay(attempt, retry_after_seconds(exc)))
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        backoff = min(self.max_delay, self.base_delay * 2**attempt)
        return backoff * (0.5 + self._rng.random() / 2)  # "equal jitter": spreads retries, keeps a floor
