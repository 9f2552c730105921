"""Sample difficulty: too-hard examples are down-weighted in critique batches, curriculum orders batches, and the
per-example difficulty is stored at the end of a run (from stored rollouts, identical on resume)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from promptlearn import optimize
from promptlearn.config import QualityConfig
from promptlearn.data import Example
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.quality.difficulty import Tally, bucket, curriculum_batch, ease_order, select_failures
from promptlearn.rollouts import RolloutResult
from promptlearn.store import Store
from tests.fakes_task import LABELS, add
from tests.unit.test_optimize import config

# ---- a world with unsolvable examples -----------------------------------------------------------------------
# "riddle" examples are never answered right. The others are answered right by the seed prompt and wrong once
# the (ungated) rewriter has added "Be polite": they failed in iteration 2 but are fixable.


def write_riddles(path: Path, n: int = 16) -> Path:
    rows = [{"id": f"{'riddle' if i % 2 else 'ticket'}-{i:02d}", "target": LABELS[i % 4],
             "input": f"{'riddle' if i % 2 else 'ticket'} {i} about {LABELS[i % 4].lower()}"} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def riddle_world() -> FakeLM:
    rules = iter(f"Be polite, variant {i}." for i in range(1, 20))

    def respond(request: LMRequest) -> str:
        props = (request.json_schema or {}).get("properties", {})
        if "deltas" in props:
            return add(next(rules), section="strategies")
        if "failure_mode" in props:
            return json.dumps({"critique": "wrong", "failure_mode": "wrong_label", "suggested_rule": "x",
                               "verdict": "fail", "confidence": 0.9})
        system, user = request.messages[0][1], request.messages[-1][1]
        label = user.split(" about ")[-1].upper()
        if user.startswith("riddle"):
            return LABELS[(LABELS.index(label) + 1) % 4]
        return "I cannot say." if "Be polite" in system else label

    return FakeLM(respond)


def riddle_run(tmp_path: Path, hard_weight: float, db: str = "db.sqlite") -> tuple[Store, str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = write_riddles(tmp_path / "riddles.jsonl")
    cfg = config(tmp_path, dataset={"path": str(data), "id": "id", "train": 8, "val": 4, "test": 4},
                 learn={"batch_size": 8, "max_failures": 2}, gate={"method": "none"},
                 quality={"hard_after": 2, "hard_weight": hard_weight, "ablation": "off"})
    store = Store(str(tmp_path / db))
    result = optimize(cfg, store=store, lm=riddle_world())
    return store, result.run_id


def critiqued_failures(store: Store, run_id: str, version: int) -> list[str]:
    """Example ids of the failures critiqued while `version` was current, in batch order."""
    rollouts = {r.id: r for r in store.rollouts(run_id, version=version, split="train")}
    chosen = [rollouts[c.rollout_id] for c in store.critiques(run_id)
              if c.rollout_id in rollouts and c.code_verdict == "fail"]
    return [r.example_id for r in sorted(chosen, key=lambda r: r.id or 0)]


def failures_in_batch_order(store: Store, run_id: str, version: int) -> list[str]:
    return [r.example_id for r in store.rollouts(run_id, version=version, split="train") if r.score < 1]


def test_a_never_solved_example_stops_dominating_the_critique_batch(tmp_path: Path) -> None:
    store, run_id = riddle_run(tmp_path / "weighted", hard_weight=0.0)
    order = failures_in_batch_order(store, run_id, 1)  # iteration 2: every train example fails under v1
    assert len(order) == 8
    # Riddles failed under v0 and v1 (too hard); tickets were solved by v0 (fixable): the first two tickets go.
    assert critiqued_failures(store, run_id, 1) == [e for e in order if e.startswith("ticket")][:2]
    # Iteration 1: no example had two attempts yet, so nothing was too hard: the first two failures went.
    assert critiqued_failures(store, run_id, 0) == failures_in_batch_order(store, run_id, 0)[:2]

    plain_store, plain_id = riddle_run(tmp_path / "plain", hard_weight=1.0)
    plain = critiqued_failures(plain_store, plain_id, 1)
    assert plain == failures_in_batch_order(plain_store, plain_id, 1)[:2]  # no down-weighting: the first two
    assert any(e.startswith("riddle") for e in plain)  # ...and a riddle took a place a fixable failure now gets


def test_difficulty_is_stored_per_example_with_a_histogram_and_resume_adds_nothing(tmp_path: Path) -> None:
    store, run_id = riddle_run(tmp_path, hard_weight=0.25)
    records = {r.key: r for r in store.quality(run_id, kind="difficulty")}
    train = [e.example_id for e in store.examples(run_id) if e.split == "train"]
    assert sorted(records) == sorted(train)
    for example_id, row in records.items():
        detail = json.loads(row.detail_json)
        if example_id.startswith("riddle"):  # wrong under v0 and v1
            assert (row.value, detail) == (0.0, {"attempts": 2, "solved": 0, "bucket": "never"})
        else:  # right under v0, wrong under v1
            assert (row.value, detail) == (0.5, {"attempts": 2, "solved": 1, "bucket": "sometimes"})
    riddles = sum(e.startswith("riddle") for e in train)
    summary = json.loads(store.get_run(run_id).summary_json)
    assert summary["learning"]["difficulty"] == {"never": riddles, "sometimes": 8 - riddles, "always": 0,
                                                 "unseen": 0}
    optimize(resume=run_id, store=store, lm=riddle_world())
    assert len(store.quality(run_id, kind="difficulty")) == 8


# ---- the selection rule itself ------------------------------------------------------------------------------
def _result(example_id: str, correct: bool = False) -> RolloutResult:
    return RolloutResult(Example(example_id, example_id, "T"), "out", 1.0 if correct else 0.0, "")


def test_select_failures_keeps_a_too_hard_failure_with_its_weight() -> None:
    tally = Tally()
    tally.add(0, [_result("hard")])
    tally.add(1, [_result("hard"), _result("easy", True)])
    assert tally.bucket("hard", 2) == "never" and tally.bucket("easy", 2) == "sometimes"
    batch = [_result("hard"), _result("easy"), _result("ok", True)]
    quality = QualityConfig(hard_after=2, hard_weight=0.25)
    picks = [select_failures(batch, tally, quality, 1, seed)[0].example.id for seed in range(4000)]
    assert 0.22 < picks.count("hard") / len(picks) < 0.28
    # Weight 0: only when nothing else failed; weight 1: the first failures, as without the feature.
    assert [r.example.id for r in select_failures(batch, tally, quality.model_copy(update={"hard_weight": 0}),
                                                  1, 0)] == ["easy"]
    assert [r.example.id for r in select_failures(batch[:1], tally, quality.model_copy(update={"hard_weight": 0}),
                                                  1, 0)] == ["hard"]
    assert [r.example.id for r in select_failures(batch, tally, quality.model_copy(update={"hard_weight": 1}),
                                                  1, 0)] == ["hard"]
    assert [r.example.id for r in select_failures(batch, tally, quality, 2, 0)] == ["hard", "easy"]  # batch order


def test_buckets() -> None:
    assert [bucket(0, 0, 2), bucket(1, 0, 2), bucket(2, 0, 2), bucket(2, 2, 2), bucket(3, 1, 2)] == [
        "unseen", "sometimes", "never", "always", "sometimes"]


# ---- curriculum ---------------------------------------------------------------------------------------------
def _examples(lengths: list[int]) -> list[Example]:
    return [Example(f"e{i}", "x" * n, "T") for i, n in enumerate(lengths)]


def test_curriculum_draws_from_a_growing_window_of_the_easiest_examples() -> None:
    train = _examples([50, 10, 80, 20, 70, 30, 60, 40])  # e1 shortest, then e3, e5, e7, e0, e6, e4, e2
    tally = Tally()
    first = curriculum_batch(train, tally, 1, 4, 2, seed=0)
    assert [e.id for e in first] == ["e1", "e3"]  # window max(2, 8 * 1/4) = the two shortest, easiest first
    second = curriculum_batch(train, tally, 2, 4, 2, seed=0)
    assert {e.id for e in second} <= {"e1", "e3", "e5", "e7"} and len(second) == 2
    last = [curriculum_batch(train, tally, 4, 4, 2, seed=s) for s in range(50)]
    assert {e.id for batch in last for e in batch} == {e.id for e in train}  # the last window is all of train
    assert all(len(b[0].input) <= len(b[1].input) for b in last)  # each batch easiest first
    assert curriculum_batch(train, tally, 3, 4, 2, seed=7) == curriculum_batch(train, tally, 3, 4, 2, seed=7)


def test_ease_is_solve_rate_first_then_shorter_input() -> None:
    train = _examples([50, 10, 80, 20])
    tally = Tally()
    tally.add(0, [_result("e2", True), _result("e1", False)])  # the long e2 was solved, the short e1 not
    tally.add(1, [_result("e2", True), _result("e1", False)])
    assert [e.id for e in ease_order(train, tally, seed=0)] == ["e2", "e3", "e0", "e1"]


def test_the_loop_with_curriculum_starts_on_the_shortest_examples(tmp_path: Path) -> None:
    rows = [{"input": f"ticket {i} {'detail ' * (i % 7)}about {LABELS[i % 4].lower()}", "target": LABELS[i % 4]}
            for i in range(60)]
    data = tmp_path / "varied.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    cfg: Any = config(tmp_path, dataset={"path": str(data)}, quality={"curriculum": True, "ablation": "off"},
                      budget={"max_iterations": 4})
    store = Store(str(tmp_path / "db.sqlite"))
    result = optimize(cfg, store=store, lm=riddle_world())
    inputs = {e.example_id: e.input for e in store.examples(result.run_id) if e.split == "train"}
    first = [r.example_id for r in store.rollouts(result.run_id, version=0, split="train")][:6]
    shortest = sorted(len(text) for text in inputs.values())[:6]
    # Iteration 1 of 4 with 20 train examples: window max(6, 5) = the 6 shortest (all, in some order).
    assert sorted(len(inputs[e]) for e in first) == shortest
    assert [len(inputs[e]) for e in first] == sorted(len(inputs[e]) for e in first)
    plain = optimize(config(tmp_path, dataset={"path": str(data)}, quality={"ablation": "off"}),
                     store=Store(str(tmp_path / "plain.sqlite")), lm=riddle_world())
    plain_first = [r.example_id for r in Store(str(tmp_path / "plain.sqlite")).rollouts(plain.run_id, version=0,
                                                                                        split="train")][:6]
    assert sorted(len(inputs[e]) for e in plain_first) != shortest  # without curriculum: a random batch
