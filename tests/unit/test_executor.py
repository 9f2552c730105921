"""Executors: input order whatever the completion order, the same stored rows at any concurrency, failure as data,
and token buckets tested on an injected clock (no sleeps, no timing assertions)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from promptlearn import evaluate
from promptlearn.errors import ConfigError
from promptlearn.executor import AsyncExecutor, RateLimiter, SerialExecutor, TokenBucket, make_executor, rebase
from promptlearn.executor.ratelimit import RateLimit, RateLimitedLM, estimate_tokens
from promptlearn.lm import FakeLM, LMRequest, RecordingLM, RetryingLM, build_lm
from promptlearn.lm.base import Completion, Usage
from promptlearn.store import Store
from tests.fakes_task import task_answer, write_dataset


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def request(model: str = "openai/gpt-x", text: str = "hi", max_tokens: int = 10) -> LMRequest:
    return LMRequest.chat(model, [{"role": "user", "content": text}], max_tokens=max_tokens)


# ---- token buckets ------------------------------------------------------------------------------------------
def test_bucket_allows_a_burst_then_spaces_reservations_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, capacity=3, clock=clock)
    waits = [bucket.reserve() for _ in range(6)]
    assert waits == [0.0, 0.0, 0.0, 0.5, 1.0, 1.5]  # three at once, then one every 1/rate seconds


def test_bucket_refills_with_time_but_never_past_its_capacity() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, capacity=2, clock=clock)
    bucket.reserve(2)
    clock.now += 1.0
    assert bucket.available == pytest.approx(1.0)
    clock.now += 60.0
    assert bucket.available == pytest.approx(2.0)
    bucket.reserve(2)
    bucket.refund(5)
    assert bucket.available == pytest.approx(2.0)


def test_limiter_keeps_one_bucket_per_provider_and_star_for_the_rest() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"openai": RateLimit(1.0, burst=1), "*": RateLimit(10.0, burst=1)}, clock, clock.sleep)
    for _ in range(3):
        limiter.acquire(request("openai/a"))
    assert clock.slept == [1.0, 1.0]  # the sleeps advance the fake clock: one request per second
    clock.slept.clear()
    limiter.acquire(request("anthropic/b"))
    limiter.acquire(request("anthropic/b"))
    limiter.acquire(request("local/smollm2-135m"))  # its own bucket under `*`: no wait
    assert clock.slept == [0.1]


def test_unlimited_provider_never_waits() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"openai": RateLimit(1.0)}, clock, clock.sleep)
    for _ in range(5):
        limiter.acquire(request("anthropic/b"))
    assert clock.slept == []


def test_tokens_per_minute_reserve_an_estimate_and_refund_what_was_not_used() -> None:
    clock = FakeClock()
    limiter = RateLimiter.from_config({}, {"openai": 600}, clock, clock.sleep)  # 10 tokens a second
    req = request(text="x" * 40, max_tokens=290)  # estimated 10 + 290 = 300 tokens
    assert estimate_tokens(req) == 300
    held = limiter.acquire(req)
    limiter.settle(req, held, Completion("ok", usage=Usage(20, 80)))
    _requests, tokens = limiter.buckets("openai")
    assert tokens is not None and tokens.available == pytest.approx(500)  # 600 - 100 really used
    limiter.acquire(req)
    limiter.acquire(req)
    assert clock.slept == [10.0]  # 500 - 300 - 300 = -100 tokens: ten seconds at 10/s


def test_rate_limited_lm_waits_per_call_and_cache_hits_cost_nothing(tmp_path: Path) -> None:
    clock = FakeClock()
    limiter = RateLimiter({"openai": RateLimit(1.0, burst=1)}, clock, clock.sleep)
    data = write_dataset(tmp_path / "t.jsonl", n=4)
    store = Store(str(tmp_path / "db.sqlite"))
    executor = SerialExecutor(lambda lm: RateLimitedLM(lm, limiter))
    evaluate(str(data), "p", "openai/gpt-x", "exact", lm=FakeLM(task_answer), store=store, executor=executor)
    assert clock.slept == [1.0, 1.0, 1.0]
    evaluate(str(data), "p", "openai/gpt-x", "exact", lm=FakeLM(task_answer), store=store, executor=executor)
    assert clock.slept == [1.0, 1.0, 1.0]  # the second run was answered from the store: no request, no wait


# ---- executors ----------------------------------------------------------------------------------------------
def test_async_map_returns_input_order_when_items_finish_in_reverse() -> None:
    n = 6
    done = [threading.Event() for _ in range(n)]
    seen: list[int] = []
    threads: set[str] = set()

    def work(i: int) -> int:
        if i + 1 < n:
            assert done[i + 1].wait(10), "items did not run concurrently"
        done[i].set()
        return i * 10

    def on_each(result: int) -> None:
        seen.append(result)
        threads.add(threading.current_thread().name)

    assert AsyncExecutor(n).map(work, list(range(n)), on_each) == [0, 10, 20, 30, 40, 50]
    assert sorted(seen) == [0, 10, 20, 30, 40, 50]  # each once, as it finished (an order timing decides)
    assert threads == {threading.current_thread().name}  # and all on the caller's thread


def test_async_map_stops_starting_items_after_an_error_and_raises_the_earliest() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> int:
        with lock:
            started.append(i)
        if i in (1, 2):
            raise RuntimeError(f"stop at {i}")
        return i

    with pytest.raises(RuntimeError, match="stop at 1"):
        AsyncExecutor(1).map(work, list(range(10)))
    assert started == [0, 1]


def test_async_map_works_inside_a_running_event_loop() -> None:
    async def main() -> list[int]:
        return AsyncExecutor(3).map(lambda i: i + 1, [1, 2, 3])

    assert asyncio.run(main()) == [2, 3, 4]


def test_make_executor_picks_serial_async_and_adds_rate_limits_over_the_model() -> None:
    assert isinstance(make_executor(1), SerialExecutor)
    assert isinstance(make_executor(4), AsyncExecutor)
    lm = build_lm(inner=FakeLM(["x"]))
    assert make_executor(4).bind(lm) is lm  # nothing to add: the same stack
    bound = make_executor(4, rate_limits={"openai": 5}).bind(lm)
    assert isinstance(bound, RetryingLM) and isinstance(bound.inner, RateLimitedLM)
    assert isinstance(lm, RetryingLM) and isinstance(lm.inner, FakeLM)  # the original is untouched


def test_rebase_copies_the_layers_and_shares_their_state(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    stack = build_lm(store, None, inner=FakeLM(["x"]))
    copy = rebase(stack, lambda model: RateLimitedLM(model, RateLimiter({})))
    assert isinstance(copy, RecordingLM) and copy is not stack and copy.store is store
    assert isinstance(copy.inner, RetryingLM) and copy.inner.stats is stack.inner.stats  # type: ignore[attr-defined]


# ---- through evaluate ---------------------------------------------------------------------------------------
def stored(store: Store, run_id: str | None) -> list[tuple]:
    rows = store.rollouts(run_id or "")
    return sorted((r.example_id, r.output, r.score, r.reason, r.parsed, r.error, r.lm_call_key) for r in rows)


@pytest.mark.parametrize("concurrency", [2, 8])
def test_evaluate_gives_the_same_results_and_rows_at_any_concurrency(tmp_path: Path, concurrency: int) -> None:
    data = write_dataset(tmp_path / "t.jsonl", n=24)
    serial_store, parallel_store = Store(str(tmp_path / "a.sqlite")), Store(str(tmp_path / "b.sqlite"))
    serial = evaluate(str(data), "p", "openai/x", "exact", lm=FakeLM(task_answer), store=serial_store)
    parallel = evaluate(str(data), "p", "openai/x", "exact", lm=FakeLM(task_answer), store=parallel_store,
                        concurrency=concurrency)
    assert [(r.example.id, r.output, r.score) for r in parallel.results] == \
        [(r.example.id, r.output, r.score) for r in serial.results]
    assert parallel.summary() == serial.summary()
    assert stored(parallel_store, parallel.run_id) == stored(serial_store, serial.run_id)
    assert parallel_store.call_stats()["calls"] == serial_store.call_stats()["calls"] == 24


def test_a_model_error_is_a_zero_score_under_the_async_executor(tmp_path: Path) -> None:
    class Flaky(FakeLM):
        def complete(self, req: LMRequest) -> Completion:
            if "ticket 3 " in req.messages[-1][1]:
                return Completion(text="", error="BadRequestError: context too long")
            return super().complete(req)

    data = write_dataset(tmp_path / "t.jsonl", n=8)
    result = evaluate(str(data), "p", "openai/x", "exact", lm=Flaky(task_answer), concurrency=4)
    assert len(result.results) == 8
    failed = [r for r in result.results if r.error]
    assert len(failed) == 1 and failed[0].score == 0.0 and "model error" in failed[0].reason


def test_config_and_flags_name_the_bad_field() -> None:
    from promptlearn.cli.exec_opts import models_from_flags
    from promptlearn.config import validate

    with pytest.raises(ConfigError, match="models.rate_limits.openai"):
        validate({"models": {"rate_limits": {"openai": -1}}}, source="run.yaml")
    with pytest.raises(ConfigError, match="models.ray_address"):
        validate({"models": {"ray_address": "auto"}}, source="run.yaml")
    with pytest.raises(ConfigError, match="models.executor"):
        models_from_flags("openai/x", 2, "dask", None, None, None)
    with pytest.raises(ConfigError, match="PROVIDER=REQUESTS_PER_SECOND"):
        models_from_flags("openai/x", 2, "async", None, None, ["openai"])
    models = models_from_flags("openai/x", 4, "async", "http://127.0.0.1:1/v1", None, ["openai=2.5"])
    assert models.rate_limits == {"openai": 2.5} and models.concurrency == 4


def test_eval_cli_rejects_bad_execution_flags_before_any_work(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from promptlearn.cli.main import app

    data = write_dataset(tmp_path / "t.jsonl", n=2)
    for flags, needle in ((["--executor", "dask"], "models.executor"), (["-c", "0"], "models.concurrency"),
                          (["--rate-limit", "openai=fast"], "models.rate_limits.openai")):
        result = CliRunner().invoke(app, ["eval", str(data), "-m", "openai/x", *flags])
        assert result.exit_code == 2 and needle in result.output and "Traceback" not in result.output, result.output


def test_core_never_imports_ray() -> None:
    import subprocess
    import sys

    code = ("import sys, promptlearn, promptlearn.executor, promptlearn.optimize, promptlearn.cli.main; "
            "print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
