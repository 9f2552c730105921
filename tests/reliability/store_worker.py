"""One of several processes writing to one database through the Store API at once, for test_store_races.

    python -m tests.reliability.store_worker DB INDEX [--calls N]

Prints READY once the store is open, waits for a line on stdin (so all workers start together), then writes:
its own run (examples, version, LM calls, rollouts), and into the SHARED run that the test made, the very same
rollouts, critiques, version and LM calls that every other worker writes too, so each unique key is raced.
Half the workers record a failed call before the successful one; a success must win, whoever came first.
"""

from __future__ import annotations

import argparse
import sys

from promptlearn.data import Example
from promptlearn.lm import Completion, LMRequest, Usage
from promptlearn.store import Store
from promptlearn.store.tables import CritiqueRow, RolloutRow, VersionRow

SHARED = "shared"


def shared_request(i: int) -> LMRequest:
    return LMRequest.chat("fake/shared", [{"role": "user", "content": f"shared question {i}"}])


def own_request(index: int, i: int) -> LMRequest:
    return LMRequest.chat("fake/own", [{"role": "user", "content": f"worker {index} question {i}"}])


def bulk_request(i: int) -> LMRequest:
    return LMRequest.chat("fake/bulk", [{"role": "user", "content": f"bulk question {i}"}])


def answer(i: int) -> Completion:
    return Completion(text=f"answer {i}", usage=Usage(3, 1), latency_s=0.01)


def examples(n: int) -> list[Example]:
    return [Example(id=f"e{i}", input=f"question {i}", target=f"answer {i}") for i in range(n)]


def prepare_shared_run(store: Store, n: int) -> None:
    store.create_run("eval", "shared", {}, run_id=SHARED)
    store.save_examples(SHARED, "d", "val", examples(n))
    store.add_version(VersionRow(run_id=SHARED, number=0, status="seed", content_json="{}", content_hash="h0"))


def work(store: Store, index: int, n: int) -> None:
    run = store.create_run("eval", f"worker {index}", {}, run_id=f"worker{index}")
    store.save_examples(run, "d", "val", examples(n))
    store.add_version(VersionRow(run_id=run, number=0, status="seed", content_json="{}", content_hash="h0"))
    for i in range(n):
        if index % 2 == 0:
            store.record_call(shared_request(i), Completion(text="", error="provider down"), run)
        store.record_call(shared_request(i), answer(i), run)
        store.record_call(own_request(index, i), answer(i), run)
        rollout = store.add_rollout(RolloutRow(run_id=SHARED, version_number=0, example_id=f"e{i}", split="val",
                                               output=f"from worker {index}", lm_call_key=shared_request(i).key))
        assert rollout.id is not None
        store.add_critique(CritiqueRow(run_id=SHARED, rollout_id=rollout.id, judge="j", verdict="pass"))
        store.add_rollout(RolloutRow(run_id=run, version_number=0, example_id=f"e{i}", split="val",
                                     lm_call_key=own_request(index, i).key))
    store.add_version(VersionRow(run_id=SHARED, number=1, parent_number=0, status="candidate", content_json="{}",
                                 content_hash="h1"))
    store.record_calls(((bulk_request(i), answer(i)) for i in range(2 * n)), run, batch=25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("index", type=int)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args(argv)
    store = Store(args.db)
    print("READY", flush=True)
    sys.stdin.readline()
    work(store, args.index, args.calls)
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
