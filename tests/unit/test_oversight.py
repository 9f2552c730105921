"""Expiry, review and objectives in the loop, with FakeLM (the scripted ticket world of tests/fakes_task.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlearn import optimize
from promptlearn.errors import ConfigError
from promptlearn.lm import LMRequest
from promptlearn.optimize.objectives import dominates, objective_front, weighted
from promptlearn.playbook import Playbook
from promptlearn.store import Store
from promptlearn.store.tables import VersionRow
from tests.fakes_task import GOOD_RULE, add, task_answer, world, world_with
from tests.unit.test_optimize import config

# Half a fix: billing and bug tickets answered with the bare label. Once GOOD_RULE is learned it adds nothing.
HALF_RULE = "Name billing and bug tickets in one word."
SLOW_RULE = "Keep a friendly tone."  # harmful: tickets whose number ends in 0 get a chatty answer


def two_rules_task(request: LMRequest) -> str:
    system, user = request.messages[0][1], request.messages[-1][1]
    label = user.split(" about ")[-1].upper()
    if SLOW_RULE in system and int(user.split()[1]) % 10 == 0:
        return f"Happy to help! This is about {label.lower()}."
    if GOOD_RULE in system or (HALF_RULE in system and label in ("BILLING", "BUG")):
        return label
    return task_answer(request)


def adds(*texts: str) -> str:
    return json.dumps({"deltas": [{"op": "add", "section": "formatting", "text": t, "reason": "fix", "evidence": []}
                                  for t in texts]})


def removals(store: Store, run_id: str) -> list[VersionRow]:
    """The run's versions made only of removals (the expiry candidates)."""
    return [v for v in store.versions(run_id)
            if v.number and {d.op for d in store.deltas(run_id, v.number)} == {"remove"}]


def test_a_rule_made_redundant_expires_through_the_non_inferiority_gate(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    cfg = config(tmp_path, budget={"max_iterations": 3}, learn={"expire_after": 2},
                 gate={"noninferiority_margin": 0.05})
    result = optimize(cfg, store=store, lm=world_with(two_rules_task, [add(HALF_RULE), add(GOOD_RULE)]))
    assert [b.text for b in result.final.bullets] == [GOOD_RULE]  # HALF_RULE retired, GOOD_RULE kept
    versions = {v.number: v for v in store.versions(result.run_id)}
    expiry = [v for v in versions.values() if v.note.startswith("origin: expiry")]
    assert len(expiry) == 1 and expiry[0].status == "accepted" and expiry[0].number == result.final_version
    [removal] = store.deltas(result.run_id, expiry[0].number)
    assert removal.op == "remove" and removal.text == HALF_RULE and "not cited or credited for 2" in removal.reason
    gate = next(g for g in store.gate_decisions(result.run_id) if g.version_number == expiry[0].number)
    assert gate.accepted and gate.diff == 0 and "non-inferiority" in gate.reason
    assert result.final_test.accuracy.estimate == 1.0


def test_without_expiry_the_redundant_rule_stays(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    cfg = config(tmp_path, budget={"max_iterations": 3})
    result = optimize(cfg, store=store, lm=world_with(two_rules_task, [add(HALF_RULE), add(GOOD_RULE)]))
    assert [b.text for b in result.final.bullets] == [HALF_RULE, GOOD_RULE]


def test_a_needed_rule_proposed_for_removal_is_kept_by_the_gate(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    cfg = config(tmp_path, budget={"max_iterations": 2}, learn={"expire_after": 1},
                 gate={"noninferiority_margin": 0.05})
    result = optimize(cfg, store=store, lm=world([add(GOOD_RULE)]))
    assert [b.text for b in result.final.bullets] == [GOOD_RULE]
    expiry = removals(store, result.run_id)
    assert len(expiry) == 1 and expiry[0].status == "rejected" and "may be worse" in expiry[0].note


def test_negative_ablation_credit_proposes_a_removal(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    cfg = config(tmp_path, budget={"max_iterations": 2}, learn={"expire_after": 50},
                 gate={"noninferiority_margin": 0.05}, quality={"ablation": "accepted"})
    result = optimize(cfg, store=store, lm=world_with(two_rules_task, [adds(GOOD_RULE, SLOW_RULE)]))
    assert [b.text for b in result.final.bullets] == [GOOD_RULE]
    [expiry] = removals(store, result.run_id)
    [removal] = store.deltas(result.run_id, expiry.number)
    assert removal.text == SLOW_RULE and removal.reason.startswith("expired: ablation credit -")


def test_review_stops_the_run_and_resume_goes_on_from_an_accept(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    cfg = config(tmp_path, budget={"max_iterations": 1}, gate={"review": True})
    events: list[tuple[str, dict[str, object]]] = []
    paused = optimize(cfg, store=store, lm=world([add(GOOD_RULE)]), on_event=lambda k, d: events.append((k, d)))
    assert paused.final_version == 0 and "waits for review: promptlearn review" in paused.stop_reason
    assert store.get_run(paused.run_id).status == "review"
    assert [v.number for v in store.pending_versions(paused.run_id)] == [1]
    assert ("review", {"version": 1, "run_id": paused.run_id}) in events
    store.record_review(paused.run_id, 1, "accept", reviewer="ana")
    done = optimize(resume=paused.run_id, store=store, lm=world([]))
    assert done.final_version == 1 and [b.text for b in done.final.bullets] == [GOOD_RULE]
    assert store.get_run(paused.run_id).status == "completed" and done.final_test.accuracy.estimate == 1.0


def test_review_reject_and_edit(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    cfg = config(tmp_path, budget={"max_iterations": 1}, gate={"review": True})
    rejected = optimize(cfg, store=store, lm=world([add(GOOD_RULE)]))
    store.record_review(rejected.run_id, 1, "reject")
    after = optimize(resume=rejected.run_id, store=store, lm=world([]))
    assert after.final_version == 0 and store.get_version(after.run_id, 1).status == "rejected"  # type: ignore[union-attr]

    paused = optimize(cfg, store=store, lm=world([add(GOOD_RULE)]))
    assert paused.final.bullets == ()  # the run stopped on the seed; the pending version holds the bullet
    version = store.get_version(paused.run_id, 1)
    assert version is not None and version.status == "pending"
    [pending] = Playbook.from_json(version.content_json).bullets
    store.record_review(paused.run_id, 1, "edit", bullet_id=pending.id, text=f"{GOOD_RULE} No punctuation.")
    edited = optimize(resume=paused.run_id, store=store, lm=world([]))
    assert edited.final_version == 2 and [b.text for b in edited.final.bullets] == [f"{GOOD_RULE} No punctuation."]
    assert store.get_version(paused.run_id, 1).status == "edited"  # type: ignore[union-attr]
    assert any(g.version_number == 2 and g.accepted for g in store.gate_decisions(paused.run_id))


def test_objectives_are_stored_per_version_and_a_token_limit_rejects(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    free = optimize(config(tmp_path, budget={"max_iterations": 1}), store=store, lm=world([add(GOOD_RULE)]))
    points = free.summary()["objectives"]["versions"]
    seed, learned = points["0"], points["1"]
    assert learned["accuracy"] > seed["accuracy"] and learned["prompt_tokens"] > seed["prompt_tokens"] > 0
    assert set(seed) == {"accuracy", "prompt_tokens", "cost_usd", "latency_s", "n"} and seed["n"] == 20
    assert free.summary()["objectives"]["frontier"] == [0, 1]  # cheaper, or more accurate
    stored = json.loads(store.get_version(free.run_id, 1).scores_json)  # type: ignore[union-attr]
    assert stored["objectives"] == learned

    limit = int((seed["prompt_tokens"] + learned["prompt_tokens"]) / 2)
    capped = optimize(config(tmp_path, budget={"max_iterations": 1}, objective={"max_prompt_tokens": limit}),
                      store=store, lm=world([add(GOOD_RULE)]))
    assert capped.final_version == 0
    [gate] = store.gate_decisions(capped.run_id)
    assert not gate.accepted and f"over the limit of {limit}" in gate.reason


def test_objective_frontier_and_weights() -> None:
    a = {"accuracy": 0.9, "prompt_tokens": 500.0, "cost_usd": 0.0}
    b = {"accuracy": 0.8, "prompt_tokens": 200.0, "cost_usd": 0.0}
    c = {"accuracy": 0.8, "prompt_tokens": 300.0, "cost_usd": 0.0}  # b is as accurate for fewer tokens
    assert dominates(b, c) and not dominates(a, b) and not dominates(b, a)
    assert objective_front({1: a, 2: b, 3: c}) == [1, 2]
    assert weighted(a, {"accuracy": 1.0}) > weighted(b, {"accuracy": 1.0})
    frugal = {"accuracy": 1.0, "prompt_tokens": 0.001}
    assert weighted(a, frugal) < weighted(b, frugal)


def test_objective_weights_pick_the_shorter_of_two_equally_good_candidates(tmp_path: Path) -> None:
    long_one = adds(GOOD_RULE, "Be polite to the customer in every reply, whatever the ticket is about.")
    two = {"budget": {"max_iterations": 1}, "learn": {"candidates": 2, "validate_top": 2}}
    by_gain = optimize(config(tmp_path, **two), store=Store(str(tmp_path / "a.sqlite")),
                       lm=world([long_one, add(GOOD_RULE)]))
    assert len(by_gain.final.bullets) == 2  # equal gains: the first validated is kept
    weighed = optimize(config(tmp_path, **two, objective={"weights": {"accuracy": 1.0, "prompt_tokens": 0.01}}),
                       store=Store(str(tmp_path / "b.sqlite")), lm=world([long_one, add(GOOD_RULE)]))
    assert [b.text for b in weighed.final.bullets] == [GOOD_RULE]  # as accurate, fewer prompt tokens
    points = weighed.summary()["objectives"]["versions"]
    assert points["1"]["accuracy"] == points["2"]["accuracy"] and points["2"]["prompt_tokens"] < points["1"][
        "prompt_tokens"]


def test_latency_cannot_be_weighed_and_expiry_needs_a_margin(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="objective.weights"):
        config(tmp_path, objective={"weights": {"latency_s": 1.0}})
    with pytest.raises(ConfigError, match="learn.expire_after needs gate.noninferiority_margin"):
        config(tmp_path, learn={"expire_after": 2})
