"""Capability cliffs: an out-of-domain check set scored for the seed and every accepted version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptlearn import optimize
from promptlearn.data.paths import SHARED_DATA_ENV
from promptlearn.errors import PromptlearnError
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.quality.cliffs import load_ood
from promptlearn.store import Store
from promptlearn.store.quality import detail
from tests.fakes_task import GOOD_RULE, add, task_answer, world_with
from tests.unit.test_optimize import config

# Perfect on the tickets, and it makes the model answer a ticket label to everything, the yes/no questions too.
CLIFF_RULE = "Reply with one of BILLING, BUG, ACCOUNT, SHIPPING and nothing else."


def write_questions(path: Path, n: int = 40) -> Path:
    rows = [{"input": f"question {i}: is {i} even?", "target": "yes" if i % 2 == 0 else "no"} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def cliff_world(rewrites: list[str]) -> FakeLM:
    def respond(request: LMRequest) -> str:
        system, user = request.messages[0][1], request.messages[-1][1]
        if user.startswith("question"):
            return "BILLING" if CLIFF_RULE in system else ("yes" if int(user.split()[1].rstrip(":")) % 2 == 0
                                                           else "no")
        if CLIFF_RULE in system:
            return user.split(" about ")[-1].upper()
        return task_answer(request)

    return world_with(respond, rewrites)


def run(tmp_path: Path, rewrites: list[str], events: list[tuple[str, dict[str, Any]]] | None = None,
        store: Store | None = None, **quality: Any) -> tuple[Any, Store]:
    ood = write_questions(tmp_path / "questions.jsonl")
    cfg = config(tmp_path, quality={"ood_path": str(ood), "ood_n": 16, **quality},
                 budget={"max_iterations": len(rewrites)})
    store = store or Store(str(tmp_path / "db.sqlite"))
    sink = events if events is not None else []
    return optimize(cfg, store=store, lm=cliff_world(rewrites), on_event=lambda k, d: sink.append((k, d))), store


def test_a_candidate_that_breaks_the_check_set_is_flagged(tmp_path: Path) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    result, store = run(tmp_path, [add(CLIFF_RULE)], events)
    assert result.final_version == 1 and result.final_test.accuracy.estimate == 1.0  # the task itself improved
    records = {r.version_number: (r.value, detail(r)) for r in store.quality(result.run_id, "ood")}
    assert records[0][0] == 1.0 and records[1][0] == 0.0
    info = records[1][1]
    assert info["flagged"] is True and info["diff"] == -1.0 and info["high"] < 0 and info["n"] == 16
    assert info["dataset"].endswith("questions.jsonl")
    cliffs = [d for k, d in events if k == "ood_cliff"]
    assert [(d["version"], d["diff"]) for d in cliffs] == [(1, -1.0)]
    summary = result.summary()["ood"]
    assert summary["flagged_versions"] == [1] and summary["seed"] == 1.0 and summary["final"]["accuracy"] == 0.0
    ood = store.rollouts(result.run_id, split="ood")
    assert sorted({r.version_number for r in ood}) == [0, 1] and len(ood) == 32
    assert all(r.example_id.startswith("ood:") for r in ood)
    assert result.rollouts == len(store.rollouts(result.run_id))  # the check set is charged to the budget


def test_a_harmless_candidate_is_not_flagged(tmp_path: Path) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    result, store = run(tmp_path, [add(GOOD_RULE)], events)
    assert result.final_version == 1
    record = next(r for r in store.quality(result.run_id, "ood") if r.version_number == 1)
    assert record.value == 1.0 and detail(record)["diff"] == 0.0 and detail(record)["flagged"] is False
    assert not [k for k, _d in events if k == "ood_cliff"] and result.ood["flagged_versions"] == []


def test_ood_block_rejects_the_cliff_and_keeps_learning(tmp_path: Path) -> None:
    result, store = run(tmp_path, [add(CLIFF_RULE), add(GOOD_RULE)], ood_block=True)
    gates = store.gate_decisions(result.run_id)
    assert not gates[0].accepted and gates[0].reason.startswith("rejected: out-of-domain accuracy on ")
    assert "dropped -1.000 vs the seed" in gates[0].reason and gates[0].diff > 0  # it did win on val
    assert gates[1].accepted and [b.text for b in result.final.bullets] == [GOOD_RULE]
    statuses = {v.number: v.status for v in store.versions(result.run_id)}
    assert statuses[1] == "rejected" and statuses[2] == "accepted"
    # Each version scored on the check set once: seed, the blocked candidate, the accepted one.
    assert len(store.rollouts(result.run_id, split="ood")) == 48


def test_a_resumed_run_reuses_the_check_set_rollouts_and_records(tmp_path: Path) -> None:
    result, store = run(tmp_path, [add(CLIFF_RULE)])
    before = (len(store.rollouts(result.run_id)), len(store.quality(result.run_id, "ood")))
    again = optimize(resume=result.run_id, store=store, lm=cliff_world([add(CLIFF_RULE)]))
    assert (len(store.rollouts(result.run_id)), len(store.quality(result.run_id, "ood"))) == before
    assert again.ood == result.ood


def test_the_check_set_is_drawn_by_the_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bbh").mkdir()
    write_questions(tmp_path / "bbh" / "tiny.jsonl")
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))  # a bbh:<task> name, read from a folder of our own
    first, same, other = (load_ood("bbh:tiny", 10, seed) for seed in (3, 3, 4))
    assert [e.id for e in first.examples] == [e.id for e in same.examples] != [e.id for e in other.examples]
    assert first.examples[0].id.startswith("ood:bbh:tiny:") and len(first.examples) == 10
    assert type(first.scorer).__name__ == "MultipleChoice"  # chosen from the check set's yes/no targets
    assert len(load_ood("bbh:tiny", 100, 0).examples) == 40  # asking for more than there are takes them all


def test_a_missing_check_set_fails_before_any_model_call(tmp_path: Path) -> None:
    lm = cliff_world([])
    cfg = config(tmp_path, quality={"ood_path": str(tmp_path / "nope.jsonl")})
    with pytest.raises(PromptlearnError, match="nope.jsonl"):
        optimize(cfg, store=Store(str(tmp_path / "db.sqlite")), lm=lm)
    assert lm.calls == []


def test_runs_show_prints_every_quality_check(tmp_path: Path) -> None:
    from rich.console import Console

    from promptlearn.cli.show import print_run_detail
    from promptlearn.history import run_detail

    result, store = run(tmp_path, [add(f"{CLIFF_RULE} Always answer (A).")], confidence=True,
                        confidence_mode="inline", audit_judge="fake/audit", audit_sample=3)
    console = Console(record=True, width=200)
    print_run_detail(console, run_detail(store, result.run_id))
    text = console.export_text()
    assert "seed (v0)" in text and "final (v1)" in text and "- (none stated)" in text and "0/20" in text
    assert "left out of Brier and ECE" in text
    assert "questions.jsonl (n=16): seed 1.000; v1 0.000 (-1.000, CLIFF)" in text
    assert "audit of v1 by explain@fake/audit: agrees with 0.00 of 3 claimed gains" in text
    assert "flag v1 for-00001: fixes an answer letter without a reason ('answer (A)')" in text
    assert "flag v1 audit: audit judge explain@fake/audit disagrees with 3 of 3 claimed gains" in text


def test_the_dry_run_estimate_counts_the_check_set_and_the_audit(tmp_path: Path) -> None:
    from promptlearn.optimize.budget import estimate

    plain = config(tmp_path)
    checked = config(tmp_path, quality={"ood_path": "x.jsonl", "ood_n": 10, "audit_judge": "fake/audit",
                                        "audit_sample": 4})
    blocked = config(tmp_path, quality={"ood_path": "x.jsonl", "ood_n": 10, "ood_block": True},
                     learn={"candidates": 3})
    base, more = estimate(plain, 20, 20, 10, 10), estimate(checked, 20, 20, 10, 10)
    iterations = plain.budget.max_iterations
    assert more.task_calls - base.task_calls == 10 * (1 + iterations)
    assert more.judge_calls - base.judge_calls == iterations * 2 * 4
    wide = estimate(config(tmp_path, learn={"candidates": 3}), 20, 20, 10, 10)
    assert estimate(blocked, 20, 20, 10, 10).task_calls - wide.task_calls == 10 * (1 + iterations * 3)
