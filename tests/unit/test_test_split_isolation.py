"""The test split is for the final report only: no test example may reach the judge, the rewriter or the gate.

Every test-split input carries a canary string. After a run that really calls the judge and the rewriter (two
iterations, each with failures to learn from) and draws extra held-out examples for a close gate decision, no
judge or rewriter request may hold the canary, while the task model's test requests must (so the check can fail).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlmodel import select

from promptlearn import RunConfig, optimize, preset
from promptlearn.optimize.setup import load_run_data
from promptlearn.store import Store
from promptlearn.store.tables import LMCallRow
from tests.fakes_task import GOOD_RULE, LABELS, add, world

CANARY = "CANARY-7f3a"
TASK, JUDGE, REWRITER = "fake/task", "fake/j", "fake/r"
# Changes nothing the scripted task model does, so iteration 1's candidate is rejected and iteration 2 learns too.
NO_OP_RULE = "Be brief."


def run_config(path: Path) -> RunConfig:
    # A 3-example val split keeps GOOD_RULE's gain uncertain, so the gate draws from the 37-example reserve.
    return preset("quick", name="isolation", dataset={"path": str(path), "id": "id", "train": 10, "val": 3, "test": 10},
                  scorer="label:BILLING,BUG,ACCOUNT,SHIPPING", system_prompt="Route the ticket.",
                  budget={"max_iterations": 2, "patience": 5},
                  learn={"batch_size": 6, "max_failures": 3, "explain": True},
                  gate={"extra_examples": 20}, models={"task": TASK, "judge": JUDGE, "rewriter": REWRITER})


def rows(n: int, canary_ids: set[str] | None = None) -> list[dict[str, str]]:
    # The canary sits between the number and " about <label>", where the scripted task model does not look.
    def text(i: int) -> str:
        mark = f" {CANARY}" if f"t{i}" in (canary_ids or set()) else ""
        return f"ticket {i}{mark} about {LABELS[i % 4].lower()}"

    return [{"id": f"t{i}", "input": text(i), "target": LABELS[i % 4]} for i in range(n)]


def canary_dataset(path: Path, n: int = 60) -> tuple[RunConfig, set[str]]:
    """The config and its test ids; the file marks exactly those inputs. The split depends only on the seed and
    the number of rows, so rewriting the inputs in place keeps every example in its split."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows(n)))
    cfg = run_config(path)
    test_ids = {e.id for e in load_run_data(cfg)[1].test}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows(n, test_ids)))
    return cfg, test_ids


def stored_calls(store: Store, run_id: str) -> list[LMCallRow]:
    with store.session() as s:
        return list(s.exec(select(LMCallRow).where(LMCallRow.run_id == run_id)))


def run(tmp_path: Path) -> tuple[Store, Any, set[str], list[tuple[str, dict[str, Any]]]]:
    cfg, test_ids = canary_dataset(tmp_path / "tickets.jsonl")
    store = Store(str(tmp_path / "db.sqlite"))
    events: list[tuple[str, dict[str, Any]]] = []
    result = optimize(cfg, store=store, lm=world([add(NO_OP_RULE), add(GOOD_RULE)]),
                      on_event=lambda kind, data: events.append((kind, data)))
    return store, result, test_ids, events


def test_the_canary_marks_exactly_the_test_split(tmp_path: Path) -> None:
    store, result, test_ids, _events = run(tmp_path)
    stored = store.examples(result.run_id)
    assert {e.example_id for e in stored if e.split == "test"} == test_ids and len(test_ids) == 10
    assert all((CANARY in e.input) == (e.split == "test") for e in stored)


def test_no_test_example_reaches_the_judge_or_the_rewriter(tmp_path: Path) -> None:
    store, result, _test_ids, _events = run(tmp_path)
    calls = stored_calls(store, result.run_id)
    by_model = {model: [c for c in calls if c.model == model] for model in (TASK, JUDGE, REWRITER)}
    # Both iterations critiqued failures and asked for a rewrite, so there was something to leak into.
    assert len(by_model[REWRITER]) >= 2 and len(by_model[JUDGE]) >= 2
    assert {v.iteration for v in store.versions(result.run_id) if v.number > 0} == {1, 2}
    leaked = [c.request_json for c in by_model[JUDGE] + by_model[REWRITER] if CANARY in c.request_json]
    assert leaked == []
    # The canary does reach the stored requests where it belongs: the task model's test rollouts.
    assert sum(CANARY in c.request_json for c in by_model[TASK]) == 20  # seed and final, 10 test examples each


def test_gate_decisions_use_only_val_and_reserve_examples(tmp_path: Path) -> None:
    store, result, test_ids, events = run(tmp_path)
    stored = store.examples(result.run_id)
    val_ids = {e.example_id for e in stored if e.split == "val"}
    reserve_ids = {f"t{i}" for i in range(60)} - {e.example_id for e in stored}
    decisions = store.gate_decisions(result.run_id)
    assert decisions and decisions[-1].accepted and result.final_version == decisions[-1].version_number
    drew_extra = False
    for decision in decisions:
        rollouts = store.rollouts(result.run_id, version=decision.version_number)
        scored = [r for r in rollouts if r.split in ("val", "val_extra")]
        assert len(scored) == decision.n  # the decision rests on these rollouts and nothing else
        assert all(r.example_id in (val_ids if r.split == "val" else reserve_ids) for r in scored)
        assert not {r.example_id for r in scored} & test_ids
        drew_extra |= any(r.split == "val_extra" for r in scored)
    assert drew_extra  # the reserve path was exercised, not only val
    # Test rollouts exist only for the seed and the final version, both scored outside any gate decision.
    tested = store.rollouts(result.run_id, split="test")
    assert {r.version_number for r in tested} == {0, result.final_version}
    assert {r.example_id for r in tested} == test_ids
    # And in time: from an iteration's start to its gate decision, nothing was evaluated on test.
    splits_since: list[str] = []
    for kind, data in events:
        if kind == "iteration":
            splits_since = []
        elif kind == "eval_start":
            splits_since.append(data["split"])
        elif kind == "gate":
            assert "test" not in splits_since and "val" in splits_since, (data, splits_since)
