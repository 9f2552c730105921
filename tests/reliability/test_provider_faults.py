"""Provider faults: timeouts, 429s and 500s are retried with jittered backoff (Retry-After honoured), bad
replies are recorded as failures, faults are counted in the run's record, and a provider that stays down
stops the run cleanly so that a later resume completes it."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from promptlearn import optimize
from promptlearn.errors import ProviderDown
from promptlearn.lm import FaultyLM, LMRequest, RetryingLM, TransientFault, build_lm
from promptlearn.lm.base import LM, Completion
from promptlearn.lm.cache import RecordingLM
from promptlearn.store import Store
from tests.fakes_task import write_dataset
from tests.reliability import checks
from tests.reliability.worker import run_config, steady_world

pytestmark = pytest.mark.reliability

TRANSIENT = ("timeout", "429", "500")
REQUEST = LMRequest.chat("fake/task", [{"role": "user", "content": "ticket 1 about bug"}])


class ServiceUnavailableError(Exception):
    """Shaped like a provider SDK's 503: a status code and response headers."""

    status_code = 503

    def __init__(self, retry_after: str):
        super().__init__("service unavailable")
        self.response = SimpleNamespace(headers={"retry-after": retry_after})


class Scripted:
    """Raises the given exceptions in order, then answers."""

    def __init__(self, faults: list[Exception]):
        self.faults = list(faults)

    def complete(self, request: LMRequest) -> Completion:
        if self.faults:
            raise self.faults.pop(0)
        return Completion(text="BUG")


class Outage:
    """Healthy for `healthy_calls` calls, then down for good."""

    def __init__(self, inner: LM, healthy_calls: int):
        self.inner, self.left, self.lock = inner, healthy_calls, threading.Lock()

    def complete(self, request: LMRequest) -> Completion:
        with self.lock:
            self.left -= 1
            down = self.left < 0
        if down:
            raise TransientFault("500")
        return self.inner.complete(request)


def test_backoff_grows_with_jitter_and_retry_after_is_honoured() -> None:
    sleeps: list[float] = []
    faults = [TransientFault("500"), TransientFault("timeout"), TransientFault("429"), ServiceUnavailableError("2.5")]
    lm = RetryingLM(Scripted(faults), base_delay=0.5, sleep=sleeps.append, seed=1)
    assert lm.complete(REQUEST).text == "BUG"
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # equal jitter: half fixed, half random
    assert sleeps[2:] == [0.01, 2.5]  # Retry-After from the exception, then from the response headers
    assert lm.stats.as_dict() == {"retries": 4, "by_kind": {"500": 1, "timeout": 1, "429": 1,
                                                            "ServiceUnavailableError": 1}}
    firsts = []
    for seed in range(20):  # jitter spreads clients that failed together
        delays: list[float] = []
        RetryingLM(Scripted([TransientFault("500")]), sleep=delays.append, seed=seed).complete(REQUEST)
        firsts += delays
    assert len(set(firsts)) == 20 and all(0.25 <= d <= 0.5 for d in firsts)
    capped: list[float] = []
    RetryingLM(Scripted([ServiceUnavailableError("3600")]), max_delay=30, sleep=capped.append).complete(REQUEST)
    assert capped == [30]


def test_a_non_transient_error_is_not_retried() -> None:
    sleeps: list[float] = []
    with pytest.raises(ValueError):
        RetryingLM(Scripted([ValueError("bad request")]), sleep=sleeps.append).complete(REQUEST)
    assert sleeps == []


def test_build_lm_keeps_a_prebuilt_retry_layer(tmp_path: Path) -> None:
    retrying = RetryingLM(steady_world(), sleep=lambda _s: None)
    stack = build_lm(Store(str(tmp_path / "db.sqlite")), "r1", inner=retrying)
    assert isinstance(stack, RecordingLM) and stack.inner is retrying
    assert isinstance(build_lm(inner=steady_world()), RetryingLM)


def test_a_run_through_a_faulty_provider_completes_and_counts_its_faults(tmp_path: Path,
                                                                         record_property) -> None:  # type: ignore[no-untyped-def]
    data = write_dataset(tmp_path / "tickets.jsonl")
    store = Store(str(tmp_path / "db.sqlite"))
    faulty = FaultyLM(steady_world(), rate=0.2, seed=3)
    sleeps: list[float] = []
    result = optimize(run_config(data), store=store, lm=RetryingLM(faulty, sleep=sleeps.append, seed=0))
    injected = faulty.faults.injected
    transient = {kind: n for kind, n in injected.items() if kind in TRANSIENT}
    bad_replies = {kind: n for kind, n in injected.items() if kind not in TRANSIENT}
    assert transient and bad_replies, injected
    assert result.faults == {"retries": sum(transient.values()), "by_kind": transient}
    assert len(sleeps) == sum(transient.values())
    assert sleeps.count(0.01) == transient.get("429", 0)  # every 429 waited its Retry-After, nothing else did
    run = store.get_run(result.run_id)
    assert run.status == "completed" and json.loads(run.summary_json)["faults"] == result.faults
    assert checks.violations(tmp_path / "db.sqlite") == []
    print(f"provider faults: {sum(faulty.faults.injected.values())} injected over {len(faulty.inner.calls)} calls "
          f"({injected}); {len(sleeps)} retries")
    record_property("faults_injected", sum(injected.values()))
    record_property("retries", len(sleeps))


def test_a_provider_that_stays_down_stops_the_run_and_resume_completes_it(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "tickets.jsonl")
    store = Store(str(tmp_path / "db.sqlite"))
    sleeps: list[float] = []
    down = RetryingLM(Outage(steady_world(), healthy_calls=50), max_retries=3, sleep=sleeps.append, seed=0)
    with pytest.raises(ProviderDown, match=r"fake/\w+ kept failing \(500\) after 3 retries.*resume"):
        optimize(run_config(data), store=store, lm=down)
    (run,) = store.list_runs()
    summary = json.loads(run.summary_json)
    assert run.status == "stopped" and summary["error"].startswith("ProviderDown: ")
    assert summary["faults"] == {"retries": 3, "by_kind": {"500": 4}} and len(sleeps) == 3
    assert 0 < store.count_rollouts(run.id) < 60

    result = optimize(resume=run.id, store=store, lm=steady_world())
    reference = optimize(run_config(data), store=Store(str(tmp_path / "ref.sqlite")), lm=steady_world())
    assert store.get_run(run.id).status == "completed"
    assert result.rollouts == reference.rollouts == store.count_rollouts(run.id)
    assert result.final_test.accuracy.estimate == reference.final_test.accuracy.estimate == 1.0
    assert checks.violations(tmp_path / "db.sqlite") == []


def test_with_concurrent_calls_a_provider_outage_stops_the_queue(tmp_path: Path) -> None:
    # Four rollouts in flight: once one gives up, the queued ones must not each retry the dead provider.
    data = write_dataset(tmp_path / "tickets.jsonl")
    outage = Outage(steady_world(), healthy_calls=5)
    with pytest.raises(ProviderDown):
        optimize(run_config(data, models={"concurrency": 4}), store=Store(str(tmp_path / "db.sqlite")),
                 lm=RetryingLM(outage, max_retries=3, sleep=lambda _s: time.sleep(0.02), seed=0))
    # 15 queued examples x 4 attempts = 60 calls if the queue kept retrying; the ones in flight finish.
    attempts_while_down = -outage.left
    assert attempts_while_down <= 3 * 4 * (3 + 1), f"{attempts_while_down} calls to a provider that was down"
