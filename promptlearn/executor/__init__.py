"""Executors run a run's rollouts: serially, concurrently on asyncio (with per-provider rate limits), or with
the model calls on a Ray cluster. Every one returns results in input order. Ray is imported only by
`ray_executor`, and only when that executor is chosen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from promptlearn.executor.async_executor import AsyncExecutor
from promptlearn.executor.base import Executor, SerialExecutor, provider_of, rebase
from promptlearn.executor.ratelimit import RateLimit, RateLimitedLM, RateLimiter, TokenBucket

if TYPE_CHECKING:
    from promptlearn.config import ModelsConfig

__all__ = [
    "Executor", "SerialExecutor", "AsyncExecutor", "RateLimit", "RateLimiter", "RateLimitedLM", "TokenBucket",
    "make_executor", "executor_for", "provider_of", "rebase",
]


def make_executor(concurrency: int = 1, kind: Literal["async", "ray"] = "async",
                  rate_limits: Mapping[str, float] | None = None, tokens_per_minute: Mapping[str, int] | None = None,
                  ray_address: str | None = None) -> Executor:
    """Serial at concurrency 1 (no threads), asyncio above it, or Ray. Rate limits apply in all three."""
    limiter = RateLimiter.from_config(rate_limits or {}, tokens_per_minute)
    if kind == "ray":
        from promptlearn.executor.ray_executor import RayExecutor

        return RayExecutor(concurrency, ray_address, limiter)
    wrap = (lambda lm: RateLimitedLM(lm, limiter)) if limiter else None
    return SerialExecutor(wrap) if concurrency <= 1 else AsyncExecutor(concurrency, wrap)


def executor_for(models: ModelsConfig) -> Executor:
    return make_executor(models.concurrency, models.executor, models.rate_limits, models.tokens_per_minute,
                         models.ray_address)
