"""The executor seam: map a function over items, results in input order, and place a layer over the model.

Results never depend on completion order: `map` returns them in input order whatever finished first, so a run
at concurrency 8 gives the same results as one at concurrency 1.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar, runtime_checkable

from promptlearn.lm.base import LM

T = TypeVar("T")
R = TypeVar("R")
OnEach = Callable[[R], None]
ModelWrap = Callable[[LM], LM]


@runtime_checkable
class Executor(Protocol):
    """Runs `fn` over `items` and returns the results in input order.

    `on_each` sees each result as it is ready, always on the caller's thread (one at a time), so progress
    callbacks need no locking. An exception from `fn` or `on_each` stops the map (no new item starts) and is
    re-raised once the items in flight have finished: a per-example failure must be data inside `fn`, and an
    exception means the run must stop (budget, provider down).
    """

    def map(self, fn: Callable[[T], R], items: Sequence[T], on_each: OnEach | None = None) -> list[R]: ...

    def bind(self, lm: LM) -> LM:
        """`lm` with this executor's layer (rate limits, remote calls) directly over the model, below the cache
        and retries, so a cache hit costs no request; `lm` itself when there is nothing to add."""
        ...


def provider_of(model: str) -> str:
    """`openai` for `openai/gpt-4.1-mini`, `local` for `local/smollm2-135m`; a bare name is its own provider."""
    return model.split("/", 1)[0] if "/" in model else model


def rebase(lm: LM, wrap: ModelWrap) -> LM:
    """A copy of the LM stack with `wrap` applied to its innermost model.

    LM layers (cache, retries, metering) keep the next one in `.inner`. Each layer on the path is copied
    shallowly, so the copies share their store, meter and retry statistics with the originals, and the
    originals stay untouched for other roles and threads.
    """
    inner = getattr(lm, "inner", None)
    if inner is None:
        return wrap(lm)
    layer = copy.copy(lm)
    layer.inner = rebase(inner, wrap)  # type: ignore[attr-defined]
    return layer


class SerialExecutor:
    """One item at a time on the caller's thread: the reference behaviour every executor must reproduce."""

    def __init__(self, wrap: ModelWrap | None = None):
        self._wrap = wrap

    def map(self, fn: Callable[[T], R], items: Sequence[T], on_each: OnEach | None = None) -> list[R]:
        results = []
        for item in items:
            result = fn(item)
            if on_each is not None:
                on_each(result)
            results.append(result)
        return results

    def bind(self, lm: LM) -> LM:
        return rebase(lm, self._wrap) if self._wrap is not None else lm
