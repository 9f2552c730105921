"""The asyncio executor: up to `concurrency` items at once, each blocking call on a worker thread.

The LM stack is synchronous (llama.cpp, litellm's sync client, the SQLite store), so asyncio schedules and
bounds the work while a thread pool of the same size runs it. Results come back in input order. The embedded
llama.cpp model still answers one request at a time: its per-model lock (promptlearn.lm.local) queues the
threads, so concurrency only helps models served elsewhere.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from promptlearn.executor.base import ModelWrap, OnEach, R, T, rebase
from promptlearn.lm.base import LM


class AsyncExecutor:
    def __init__(self, concurrency: int, wrap: ModelWrap | None = None):
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.concurrency, self._wrap = concurrency, wrap

    def bind(self, lm: LM) -> LM:
        return rebase(lm, self._wrap) if self._wrap is not None else lm

    def map(self, fn: Callable[[T], R], items: Sequence[T], on_each: OnEach | None = None) -> list[R]:
        items = list(items)
        if not items:
            return []
        if _loop_running():
            # Called from async code (a notebook, an async app): asyncio.run would refuse, so the map gets a
            # loop of its own on a helper thread while the caller's thread waits.
            return _in_thread(lambda: asyncio.run(self._map(fn, items, on_each)))
        return asyncio.run(self._map(fn, items, on_each))

    async def _map(self, fn: Callable[[T], R], items: list[T], on_each: OnEach | None) -> list[R]:
        loop = asyncio.get_running_loop()
        limit = asyncio.Semaphore(self.concurrency)
        results: list[Any] = [None] * len(items)
        errors: dict[int, BaseException] = {}
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(items)), thread_name_prefix="promptlearn")

        async def one(index: int, item: T) -> None:
            async with limit:
                if errors:  # the run is stopping: start nothing new, let what is in flight finish
                    return
                try:
                    results[index] = await loop.run_in_executor(pool, fn, item)
                    if on_each is not None:
                        on_each(results[index])  # on the loop's thread: callbacks never run concurrently
                except Exception as exc:
                    errors[index] = exc

        try:
            await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
        finally:
            # On cancellation (Ctrl-C) too: wait for calls in flight, so no thread writes after the map returns.
            pool.shutdown(wait=True, cancel_futures=True)
        if errors:
            raise errors[min(errors)]  # the earliest item's error, whatever failed first in time
        return results


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _in_thread(work: Callable[[], R]) -> R:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # re-raised on the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="promptlearn-executor")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
