"""Cost cap with concurrency: with four task calls in flight at once the run must still stop before its spend
passes `budget.max_cost_usd`, counting what the provider actually billed (every call the fake answered)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlearn import optimize
from promptlearn.errors import BudgetExceeded
from promptlearn.store import Store
from tests.fakes_task import write_dataset
from tests.reliability.worker import run_config, steady_world

pytestmark = pytest.mark.reliability

COST = 0.01


# An uncapped run bills 97 calls: seed test 20, seed val 20, train 6, judge 4, rewriter 1, candidate val 20,
# train 6, final test 20. The caps land in the seed evaluation, a train batch, a candidate's validation and
# the final test.
@pytest.mark.parametrize("cap", [0.155, 0.455, 0.605, 0.855])
def test_concurrent_calls_do_not_overshoot_the_cost_cap(tmp_path: Path, cap: float) -> None:
    data = write_dataset(tmp_path / "tickets.jsonl")
    billed = steady_world(sleep_s=0.01, cost_per_call=COST)
    config = run_config(data, models={"concurrency": 4}, budget={"max_cost_usd": cap})
    store = Store(str(tmp_path / "db.sqlite"))
    try:
        result = optimize(config, store=store, lm=billed)
        assert "cost cap" in result.stop_reason
        assert sum(role["cost_usd"] for role in result.spend.values()) <= cap + 1e-9
    except BudgetExceeded as exc:  # the cap left no room to measure on the test split: stopped, resumable
        (run,) = store.list_runs()
        assert run.status == "stopped" and "cost cap" in json.loads(run.summary_json)["error"], exc
    spent = len(billed.calls) * COST
    assert spent <= cap + 1e-9, f"billed ${spent:.2f} with a ${cap} cap"
    assert spent > cap - 4 * COST  # it stopped near the cap, not long before
