"""A real optimization in its own process, for the crash and concurrent-writer tests.

    python -m tests.reliability.worker DB DATASET [--resume RUN_ID] [--sleep-ms N]

Prints READY once imports and the store are open (the harness starts its kill timer then), and DONE with the
run id when the run finishes. The fake world answers by request alone, so a resumed run sees the same replies
whether they come from the store's cache or from the fake.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from promptlearn import optimize, preset
from promptlearn.config import RunConfig
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.store import Store
from tests.fakes_task import GOOD_RULE, add, judge_reply, task_answer


def run_config(data: Path, **overrides: Any) -> RunConfig:
    base: dict[str, Any] = {
        "dataset": {"path": str(data), "train": 20, "val": 20, "test": 20},
        "scorer": "label:BILLING,BUG,ACCOUNT,SHIPPING", "system_prompt": "Route the ticket.",
        "budget": {"max_iterations": 2, "patience": 5}, "learn": {"batch_size": 6, "max_failures": 3, "explain": True},
        "models": {"task": "fake/task", "judge": "fake/j", "rewriter": "fake/r"}}
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return preset("quick", **base)


def rewriter_reply(request: LMRequest) -> str:
    """Add the good rule to an empty playbook; propose nothing once there are bullets (only 'add' is offered
    for an empty playbook), so the reply depends on the request only."""
    ops = request.json_schema["properties"]["deltas"]["items"]["properties"]["op"]["enum"]  # type: ignore[index]
    return add(GOOD_RULE) if ops == ["add"] else json.dumps({"deltas": []})


def steady_world(sleep_s: float = 0.0, cost_per_call: float = 0.0) -> FakeLM:
    def respond(request: LMRequest) -> str:
        if sleep_s:
            time.sleep(sleep_s)
        props = (request.json_schema or {}).get("properties", {})
        if "deltas" in props:
            return rewriter_reply(request)
        if "failure_mode" in props:
            return judge_reply(request)
        return task_answer(request)

    return FakeLM(respond, cost_per_call=cost_per_call)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("data")
    parser.add_argument("--resume")
    parser.add_argument("--sleep-ms", type=float, default=0.0)
    parser.add_argument("--name", default="run")
    args = parser.parse_args(argv)
    store = Store(args.db)
    print("READY", flush=True)
    lm = steady_world(args.sleep_ms / 1000)
    if args.resume:
        result = optimize(resume=args.resume, store=store, lm=lm)
    else:
        result = optimize(run_config(Path(args.data), name=args.name), store=store, lm=lm)
    print("DONE", json.dumps({"run_id": result.run_id, "rollouts": result.rollouts,
                              "accuracy": result.final_test.accuracy.estimate}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
