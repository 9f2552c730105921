"""Token-bucket rate limits per provider: requests per second with a burst, and optionally tokens per minute.

The limiter sits directly over the model (below the cache and retries), so a cache hit costs nothing and every
retry of a failed call is counted as the provider counts it. Waiting is a reservation: each caller takes its
token at once (the bucket may go negative) and sleeps until its token is due, so callers on many threads are
spaced evenly and in arrival order, with no polling. Clock and sleep are injected for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from promptlearn.executor.base import provider_of
from promptlearn.lm.base import LM, Completion, LMRequest

Clock = Callable[[], float]
Sleep = Callable[[float], None]
ANY_PROVIDER = "*"


@dataclass(frozen=True)
class RateLimit:
    requests_per_s: float | None = None
    burst: float | None = None  # requests allowed at once after an idle spell; default: one second's worth
    tokens_per_minute: int | None = None

    @property
    def capacity(self) -> float:
        return self.burst if self.burst is not None else max(1.0, self.requests_per_s or 1.0)


class TokenBucket:
    """`rate` tokens per second, at most `capacity` saved up. Thread-safe."""

    def __init__(self, rate: float, capacity: float, clock: Clock = time.monotonic):
        if rate <= 0 or capacity <= 0:
            raise ValueError("a token bucket needs rate > 0 and capacity > 0")
        self.rate, self.capacity, self._clock = rate, capacity, clock
        self._tokens, self._stamp = capacity, clock()
        self._lock = threading.Lock()

    def reserve(self, cost: float = 1.0) -> float:
        """Take `cost` tokens now; return how many seconds the caller must wait before using them."""
        with self._lock:
            self._refill()
            self._tokens -= cost
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def refund(self, amount: float) -> None:
        """Give back what a reservation over-estimated (tokens per minute are estimated before the call)."""
        with self._lock:
            self._refill()
            self._tokens = min(self.capacity, self._tokens + amount)

    @property
    def available(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now


def estimate_tokens(request: LMRequest) -> int:
    """An upper bound before the call: prompt characters / 4, plus every token the reply may use."""
    return sum(len(content) for _role, content in request.messages) // 4 + request.max_tokens


class RateLimiter:
    """Buckets per provider (the model string's prefix). `*` sets a limit for each provider without its own."""

    def __init__(self, limits: Mapping[str, RateLimit], clock: Clock = time.monotonic, sleep: Sleep = time.sleep):
        self.limits, self._clock, self._sleep = dict(limits), clock, sleep
        self._buckets: dict[str, tuple[TokenBucket | None, TokenBucket | None]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, rate_limits: Mapping[str, float], tokens_per_minute: Mapping[str, int] | None = None,
                    clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> RateLimiter:
        tpm = dict(tokens_per_minute or {})
        providers = set(rate_limits) | set(tpm)
        return cls({p: RateLimit(rate_limits.get(p), None, tpm.get(p)) for p in providers}, clock, sleep)

    def __bool__(self) -> bool:
        return bool(self.limits)

    def buckets(self, provider: str) -> tuple[TokenBucket | None, TokenBucket | None]:
        with self._lock:
            if provider not in self._buckets:
                self._buckets[provider] = self._new_buckets(self.limits.get(provider) or self.limits.get(ANY_PROVIDER))
            return self._buckets[provider]

    def _new_buckets(self, limit: RateLimit | None) -> tuple[TokenBucket | None, TokenBucket | None]:
        if limit is None:
            return None, None
        requests = TokenBucket(limit.requests_per_s, limit.capacity, self._clock) if limit.requests_per_s else None
        tpm = limit.tokens_per_minute
        tokens = TokenBucket(tpm / 60.0, float(tpm), self._clock) if tpm else None
        return requests, tokens

    def acquire(self, request: LMRequest) -> int:
        """Wait until the request may go; return the tokens reserved (to settle after the call)."""
        requests, tokens = self.buckets(provider_of(request.model))
        held = estimate_tokens(request) if tokens is not None else 0
        wait = max(requests.reserve() if requests else 0.0, tokens.reserve(held) if tokens else 0.0)
        if wait > 0:
            self._sleep(wait)
        return held

    def settle(self, request: LMRequest, held: int, reply: Completion | None) -> None:
        _requests, tokens = self.buckets(provider_of(request.model))
        if tokens is not None and held:
            used = reply.usage.total if reply is not None else 0
            tokens.refund(max(0, held - used))


class RateLimitedLM:
    """An LM whose calls wait for their provider's bucket."""

    def __init__(self, inner: LM, limiter: RateLimiter):
        self.inner, self.limiter = inner, limiter

    def complete(self, request: LMRequest) -> Completion:
        held = self.limiter.acquire(request)
        reply = None
        try:
            reply = self.inner.complete(request)
        finally:
            self.limiter.settle(request, held, reply)
        return reply
