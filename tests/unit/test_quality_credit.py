"""Per-bullet credit by ablation: it matches a scripted truth, pruning uses it, and budgets skip or stop it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlearn import optimize
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.optimize import OptimizeResult
from promptlearn.playbook import Delta, Measured, Playbook, prune_to_budget
from promptlearn.quality.credit import ablation_version
from promptlearn.store import Store
from tests.fakes_task import GOOD_RULE, add, judge_reply, world
from tests.unit.test_optimize import config

POLITE = "Be polite."  # changes nothing the task model does: its credit is 0
CAREFUL = "Read the whole ticket carefully before choosing a label, paying attention to every detail."


def two_rules() -> str:
    return json.dumps({"deltas": [{"op": "add", "section": "formatting", "text": GOOD_RULE, "reason": "fix"},
                                  {"op": "add", "section": "strategies", "text": POLITE, "reason": "tone"}]})


def number(text: str) -> int:
    return int(text.split()[1])


def task(request: LMRequest) -> str:
    """GOOD_RULE fixes even-numbered tickets only (so later iterations still see failures); without it the
    model is chatty, which the label scorer counts right only for tickets numbered 0 mod 8."""
    system, user = request.messages[0][1], request.messages[-1][1]
    label = user.split(" about ")[-1].upper()
    if GOOD_RULE in system and number(user) % 2 == 0 or number(user) % 8 == 0:
        return label
    return f"I think this ticket is about {label.lower()}."


def scripted(rewrites: list[str]) -> FakeLM:
    queue = list(rewrites)

    def respond(request: LMRequest) -> str:
        props = (request.json_schema or {}).get("properties", {})
        if "deltas" in props:
            return queue.pop(0) if queue else json.dumps({"deltas": []})
        if "failure_mode" in props:
            return judge_reply(request)
        return task(request)

    return FakeLM(respond)


def credits(store: Store, result: OptimizeResult) -> dict[str, tuple[float | None, dict[str, object]]]:
    return {r.key: (r.value, json.loads(r.detail_json)) for r in store.quality(result.run_id, kind="credit")}


def val_share(store: Store, run_id: str, keep: object) -> float:
    inputs = [e.input for e in store.examples(run_id) if e.split == "val"]
    return sum(bool(keep(number(text))) for text in inputs) / len(inputs)  # type: ignore[operator]


def test_ablation_credit_matches_the_scripted_gain(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    result = optimize(config(tmp_path, budget={"max_iterations": 1}), store=store, lm=scripted([two_rules()]))
    assert result.final_version == 1 and [b.id for b in result.final.bullets] == ["for-00001", "str-00002"]
    # With GOOD_RULE the even tickets are right, without it only those numbered 0 mod 8: that is its gain.
    gain = val_share(store, result.run_id, lambda n: n % 2 == 0 and n % 8 != 0)
    assert gain > 0.2
    found = credits(store, result)
    good, polite = found["for-00001"], found["str-00002"]
    assert good[0] == pytest.approx(gain)
    assert good[1]["low"] > 0 and good[1]["high"] >= gain and good[1]["n"] == 20  # type: ignore[operator]
    assert (good[1]["text"], good[1]["section"]) == (GOOD_RULE, "formatting")
    assert polite[0] == 0.0 and (polite[1]["low"], polite[1]["high"]) == (0.0, 0.0)
    assert {r.version_number for r in store.quality(result.run_id, kind="credit")} == {1}
    # Stored under their own version numbers and split, counted in the run's rollouts.
    ablated = [r for r in store.rollouts(result.run_id) if r.split == "ablation"]
    assert sorted({r.version_number for r in ablated}) == [ablation_version(1, 1), ablation_version(1, 0)]
    assert len(ablated) == 40 and result.rollouts == store.count_rollouts(result.run_id)
    assert result.summary()["learning"]["ablation"]["versions"][0]["status"] == "done"


def test_section_ablation_credits_each_section(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    result = optimize(config(tmp_path, budget={"max_iterations": 1}, quality={"ablation_unit": "section"}),
                      store=store, lm=scripted([two_rules()]))
    found = credits(store, result)
    assert sorted(found) == ["formatting", "strategies"]
    assert found["formatting"][0] == pytest.approx(val_share(store, result.run_id, lambda n: n % 2 == 0 and n % 8))
    assert found["strategies"][0] == 0.0 and found["strategies"][1]["text"] == POLITE


def _budget_for_three_rules() -> int:
    pb = Playbook(seed_prompt="p").apply([Delta(op="add", section="formatting", text=GOOD_RULE),
                                          Delta(op="add", section="strategies", text=POLITE),
                                          Delta(op="add", section="pitfalls", text=CAREFUL)]).playbook
    budget = pb.without(["str-00002"]).bullet_tokens()  # the good rule and the careful one fit, not all three
    assert pb.without(["pit-00003"]).bullet_tokens() <= budget < pb.bullet_tokens()
    return budget


@pytest.mark.parametrize(("ablation", "pruned"), [("accepted", "str-00002"), ("final", "pit-00003")])
def test_pruning_prefers_the_bullet_with_zero_measured_credit(tmp_path: Path, ablation: str, pruned: str) -> None:
    # Both rules of v1 share the gate's wins, so by counters the new third rule (no wins yet) goes first. With
    # v1 ablated ('accepted'), the polite rule has measured credit 0 and goes instead.
    store = Store(str(tmp_path / "db.sqlite"))
    cfg = config(tmp_path, learn={"playbook_max_tokens": _budget_for_three_rules()},
                 quality={"ablation": ablation})
    result = optimize(cfg, store=store, lm=scripted([two_rules(), add(CAREFUL, section="pitfalls")]))
    v2 = store.versions(result.run_id)[2]  # its note became the gate's reason; the content shows what was pruned
    kept = {b.id for b in Playbook.from_json(v2.content_json).bullets}
    assert kept == {"for-00001", "str-00002", "pit-00003"} - {pruned}


def test_prune_to_budget_takes_measured_credit_first() -> None:
    pb = Playbook(seed_prompt="p").apply([Delta(op="add", text=f"rule {w}") for w in ("one", "two", "six")])
    rules = pb.playbook.with_counters(helpful={"ins-00001": 9, "ins-00002": 1})  # counters: 3, then 2, then 1
    budget = rules.without(["ins-00003"]).bullet_tokens()
    assert prune_to_budget(rules, budget)[1] == ["ins-00003"]
    useless = {"ins-00001": Measured(0.0, -0.1, 0.1, "rule one")}
    assert prune_to_budget(rules, budget, measured=useless)[1] == ["ins-00001"]
    helps = {"ins-00001": Measured(0.2, 0.05, 0.3, "rule one"), "ins-00003": Measured(0.1, 0.02, 0.2, "rule six")}
    assert prune_to_budget(rules, budget, measured=helps)[1] == ["ins-00003"]  # a gain: counters decide
    stale = {"ins-00001": Measured(0.0, -0.1, 0.1, "rule one, as it read before an update")}
    assert prune_to_budget(rules, budget, measured=stale)[1] == ["ins-00003"]


def test_a_budget_too_small_skips_the_ablation_with_a_note(tmp_path: Path) -> None:
    # Seed test 20 + seed val 20 + batch 6 + candidate val 20 + final test 20 = 86; ablating one rule needs 20.
    store = Store(str(tmp_path / "db.sqlite"))
    result = optimize(config(tmp_path, budget={"max_iterations": 1, "max_rollouts": 90}), store=store,
                      lm=world([add(GOOD_RULE)]))
    assert result.final_version == 1 and result.final_test.accuracy.n == 20 and result.rollouts == 86
    ablation = json.loads(store.get_run(result.run_id).summary_json)["learning"]["ablation"]
    assert ablation["notes"] == ["ablation of v1 skipped: it needs 20 rollouts, the budget has 4 left"]
    assert store.quality(result.run_id, kind="credit") == []
    assert not [r for r in store.rollouts(result.run_id) if r.split == "ablation"]


def test_a_cost_cap_hit_mid_ablation_stops_it_and_keeps_the_run(tmp_path: Path) -> None:
    inner = world([add(GOOD_RULE)])
    priced = FakeLM(lambda req: inner.complete(req).text, cost_per_call=0.01)
    # 91 calls to the final test (see test_optimize), then the ablation runs into the cap.
    store = Store(str(tmp_path / "db.sqlite"))
    result = optimize(config(tmp_path, budget={"max_iterations": 1, "max_cost_usd": 0.95}), store=store,
                      lm=priced)
    assert result.final_test.accuracy.n == 20 and store.get_run(result.run_id).status == "completed"
    entry = result.learning["ablation"]["versions"][0]
    assert entry["status"] == "stopped" and "cost cap" in entry["note"]
    assert 0 < len([r for r in store.rollouts(result.run_id) if r.split == "ablation"]) < 20
    assert store.quality(result.run_id, kind="credit") == []


class Crash(Exception):
    pass


def test_a_crash_mid_ablation_resumes_without_duplicates(tmp_path: Path) -> None:
    calls = {"n": 0}
    healthy = scripted([two_rules()])

    def crashing(request: LMRequest) -> str:
        calls["n"] += 1
        if calls["n"] == 100:  # 91 calls reach the final test; ablating the first rule comes next
            raise Crash("power cut")
        return healthy.complete(request).text

    store = Store(str(tmp_path / "db.sqlite"))
    cfg = config(tmp_path, budget={"max_iterations": 1})
    with pytest.raises(Crash):
        optimize(cfg, store=store, lm=FakeLM(crashing))
    run_id = store.list_runs()[0].id
    assert 0 < len([r for r in store.rollouts(run_id) if r.split == "ablation"]) < 20
    result = optimize(resume=run_id, store=store, lm=scripted([two_rules()]))
    reference = optimize(cfg, store=Store(str(tmp_path / "ref.sqlite")), lm=scripted([two_rules()]))
    keys = [(r.version_number, r.example_id, r.sample) for r in store.rollouts(run_id)]
    assert len(keys) == len(set(keys)) == reference.rollouts == result.rollouts
    found = [(r.key, r.value, r.detail_json) for r in store.quality(run_id, kind="credit")]
    expected = [(r.key, r.value, r.detail_json) for r in Store(str(tmp_path / "ref.sqlite")).quality(
        reference.run_id, kind="credit")]
    assert found == expected and len(found) == 2


def test_bench_arms_run_without_ablation_so_budgets_stay_matched() -> None:
    from promptlearn.bench.task import BenchTask

    assert BenchTask("support_triage").config("promptlearn", 100).quality.ablation == "off"
    assert BenchTask("support_triage").config("add_only", 100, **{"learn.mode": "add_only"}).quality.ablation == "off"


def test_ablation_credit_uses_the_gates_one_sided_level() -> None:
    from promptlearn.quality.credit import measure
    from promptlearn.stats import paired_bootstrap

    full = [1.0] * 12 + [0.0] * 8
    without = [1.0] * 8 + [0.0] * 12
    credit = measure(full, without, 0.9, seed=3)
    at_gate_level = paired_bootstrap(without, full, confidence=0.8, seed=3)
    assert (credit.low, credit.high) == (at_gate_level.low, at_gate_level.high)
    assert credit.low > paired_bootstrap(without, full, confidence=0.9, seed=3).low  # the old, wider interval
