"""The Ray executor on a small local Ray instance: model calls run on workers, results and stored rows match the
serial executor, and the driver alone writes the store. Kept small: starting Ray takes seconds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promptlearn import evaluate
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.store import Store
from tests.fakes_task import task_answer, write_dataset

ray = pytest.importorskip("ray", reason="the Ray executor needs the `ray` extra: pip install '.[ray]'")
pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def local_ray() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def rows(store: Store, run_id: str | None) -> list[tuple]:
    return sorted((r.example_id, r.output, r.score, r.reason, r.parsed, r.error, r.lm_call_key)
                  for r in store.rollouts(run_id or ""))


def test_ray_executor_matches_the_serial_executor(local_ray: Any, tmp_path: Path) -> None:
    from promptlearn.executor.ray_executor import RayExecutor

    data = write_dataset(tmp_path / "tickets.jsonl", n=12)
    serial_store, ray_store = Store(str(tmp_path / "a.sqlite")), Store(str(tmp_path / "b.sqlite"))
    serial = evaluate(str(data), "p", "openai/x", "exact", lm=FakeLM(task_answer), store=serial_store)
    driver_copy = FakeLM(task_answer)
    remote = evaluate(str(data), "p", "openai/x", "exact", lm=driver_copy, store=ray_store,
                      executor=RayExecutor(concurrency=4))
    assert [(r.example.id, r.output, r.score) for r in remote.results] == \
        [(r.example.id, r.output, r.score) for r in serial.results]
    assert rows(ray_store, remote.run_id) == rows(serial_store, serial.run_id)
    assert driver_copy.calls == []  # every model call ran on a Ray worker, on its own copy of the model
    assert ray_store.call_stats()["calls"] == 12  # ...and the driver recorded each one


def test_a_worker_exception_reaches_the_driver_as_itself(local_ray: Any) -> None:
    from promptlearn.executor.ray_executor import RayExecutor

    remote = RayExecutor(concurrency=1).bind(FakeLM([]))  # no scripted replies: raises on the worker
    with pytest.raises(AssertionError, match="ran out of scripted replies"):
        remote.complete(LMRequest.chat("openai/x", [{"role": "user", "content": "hi"}]))
