"""The Ray executor: the model calls of a run go to a Ray cluster; everything else stays on the driver.

The driver keeps the whole LM stack (cost reservations, the store's cache, retries, rollout rows) and is the
only writer to the store. Only the innermost model is shipped to the cluster, once per run through Ray's object
store: the `Router` (picklable settings, such as `api_base`, from which each worker builds its own clients and
loads its own llama.cpp model, one request at a time per worker process) or a picklable test double such as
`FakeLM`. Driver threads, `concurrency` of them, each wait on one remote call, so `concurrency` bounds the
calls in flight on the cluster.

Ray is imported here only, and only when this executor is used: core promptlearn never imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from promptlearn.errors import ConfigError
from promptlearn.executor.async_executor import AsyncExecutor
from promptlearn.executor.base import OnEach, R, T, rebase
from promptlearn.executor.ratelimit import RateLimitedLM, RateLimiter
from promptlearn.lm.base import LM, Completion, LMRequest


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("executor 'ray' needs Ray: pip install 'promptlearn[ray]'") from exc
    return ray


def call_model(model: LM, request: LMRequest) -> Completion:
    """What a worker runs: one model call, nothing else (no store, no cache, no retries)."""
    return model.complete(request)


class RemoteLM:
    """An LM whose `complete` runs `model.complete` as a Ray task and waits for it."""

    def __init__(self, ray: Any, task: Any, model_ref: Any):
        self._ray, self._task, self._model_ref = ray, task, model_ref

    def complete(self, request: LMRequest) -> Completion:
        ray = self._ray
        try:
            return ray.get(self._task.remote(self._model_ref, request))
        except ray.exceptions.RayTaskError as exc:
            # The model raised on the worker: re-raise the original, so retries and ModelError work as locally.
            if isinstance(exc.cause, BaseException):
                raise exc.cause from None
            raise
        except ray.exceptions.RayError as exc:  # a worker or node died: this request failed, not the run
            return Completion(text="", error=f"ray: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")


class RayExecutor:
    """`concurrency` driver threads (the asyncio executor) whose model calls run on a Ray cluster."""

    def __init__(self, concurrency: int, address: str | None = None, limiter: RateLimiter | None = None,
                 num_cpus: float = 1.0):
        self.concurrency, self.address, self.num_cpus = concurrency, address, num_cpus
        self._limiter = limiter if limiter else None
        self._local = AsyncExecutor(concurrency)
        self._task: Any = None

    def map(self, fn: Callable[[T], R], items: Sequence[T], on_each: OnEach | None = None) -> list[R]:
        return self._local.map(fn, items, on_each)

    def bind(self, lm: LM) -> LM:
        return rebase(lm, self._remote)

    def _remote(self, model: LM) -> LM:
        ray = self._connect()
        if self._task is None:
            self._task = ray.remote(num_cpus=self.num_cpus, max_retries=0)(call_model)  # the driver retries
        remote: LM = RemoteLM(ray, self._task, ray.put(model))
        # Rate limits are counted on the driver, which sees every request of the run.
        return RateLimitedLM(remote, self._limiter) if self._limiter is not None else remote

    def _connect(self) -> Any:
        """Join `address` (or start a local Ray) unless this process is already connected; Ray shuts itself
        down when the process exits."""
        ray = import_ray()
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(include_dashboard=False, log_to_driver=False)
        return ray
