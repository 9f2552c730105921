"""The new learning mechanisms as pure functions: worked examples, example-specific rules, repeats, screening,
label drift and alpha spending."""

from __future__ import annotations

import math

from promptlearn.data import Example
from promptlearn.optimize.gate import label_drift, spent_confidence, total_variation
from promptlearn.optimize.proposers import (
    Tried,
    example_specific,
    example_text,
    filter_rules,
    with_examples_section,
    worked_examples,
)
from promptlearn.optimize.screen import compare, screening_set
from promptlearn.playbook import EXAMPLES_SECTION, Delta, Playbook
from promptlearn.rollouts import RolloutResult


def rollout(i: int, target: str, answer: str | None, rid: int | None = None) -> RolloutResult:
    correct = answer == target
    return RolloutResult(Example(f"e{i}", f"message number {i} about {target}", target), answer or "", float(correct),
                         "", answer, rollout_id=rid if rid is not None else i)


def test_worked_examples_take_one_failure_per_confusion_most_frequent_first() -> None:
    failures = [rollout(1, "balance", "bill_balance"), rollout(2, "transfer", "routing"),
                rollout(3, "transfer", "routing"), rollout(4, "balance", None)]
    book = with_examples_section(Playbook(seed_prompt="Classify."))
    picked = worked_examples(book, failures, limit=3)
    deltas = [d for d, _r in picked]
    assert [r.example.id for _d, r in picked] == ["e2", "e1", "e4"]
    assert [d.text for d in deltas] == [example_text(failures[1].example.input, "transfer"),
                                        example_text(failures[0].example.input, "balance"),
                                        example_text(failures[3].example.input, "balance")]
    assert all(d.section == EXAMPLES_SECTION and d.op == "add" for d in deltas)
    assert deltas[0].evidence == ["r2"]
    assert "routing" in deltas[0].reason
    assert len(worked_examples(book, failures, limit=1)) == 1


def test_worked_examples_skip_what_is_shown_or_was_tried() -> None:
    failures = [rollout(1, "balance", "bill_balance"), rollout(2, "transfer", "routing")]
    book = with_examples_section(Playbook(seed_prompt="Classify."))
    first = [d for d, _r in worked_examples(book, failures, limit=1)]
    applied = book.apply(first).playbook
    again = worked_examples(applied, failures, limit=4)
    assert [d.text for d, _r in again] == [example_text(failures[1].example.input, "transfer")]
    everything = {d.text for d, _r in worked_examples(book, failures, 4)}
    assert worked_examples(book, failures, limit=4, skip=everything) == []
    rendered = applied.render()
    assert "### Examples" in rendered and 'Input: "message number 1 about balance" -> Answer: balance' in rendered


def test_rules_about_one_example_are_caught() -> None:
    inputs = ["i need twenty thousand dollars transferred from my savings to my checking today"]
    assert example_specific("In this case, the customer is changing their address", inputs)
    assert example_specific("Transferred from my savings to my checking today is TRANSFER", inputs)
    assert example_specific("Messages about moving money between accounts are transfer.", inputs) is None


def test_filter_rules_drops_repeats_of_rejected_rules_and_keeps_examples_and_removes() -> None:
    tried = [Tried("Messages about moving money are transfer.", "rejected: gain +0.000 not significant")]
    deltas = [Delta(op="add", text="Messages about moving money are transfer!"),
              Delta(op="add", text="Answer with the intent name only."),
              Delta(op="add", section=EXAMPLES_SECTION, text='Input: "x" -> Answer: y'),
              Delta(op="remove", bullet_id="ins-00001")]
    kept, dropped = filter_rules(deltas, [], tried, threshold=0.7)
    assert [d.text for d in kept] == ["Answer with the intent name only.", 'Input: "x" -> Answer: y', ""]
    assert len(dropped) == 1 and "repeats a rule already tried" in dropped[0][1]


def test_screening_pairs_the_candidate_with_the_current_answers() -> None:
    base = [rollout(1, "a", "b"), rollout(2, "a", "c"), rollout(3, "a", "a"), rollout(4, "b", "b")]
    chosen = screening_set(base, base[:2], successes=1)
    assert [r.example.id for r in chosen] == ["e1", "e2", "e3"]
    cand = [rollout(1, "a", "a"), rollout(2, "a", "a"), rollout(3, "a", "b")]
    result = compare(chosen, cand)
    assert (result.fixed, result.broken, result.net, result.n) == (2, 1, 1, 3)
    assert result.passed(1) and not result.passed(2)


def test_total_variation_and_label_drift() -> None:
    targets = ["a"] * 10 + ["b"] * 10
    assert total_variation(targets, targets) == 0
    assert total_variation(["a"] * 20, targets) == 0.5
    assert math.isclose(total_variation([None] * 20, targets), 1.0)
    spread = ["a"] * 9 + ["b"] + ["b"] * 9 + ["a"]
    leaning = ["a"] * 20
    assert label_drift(spread, leaning, targets, 0.9, seed=0) is not None
    assert label_drift(leaning, spread, targets, 0.9, seed=0) is None  # moving toward the targets is fine
    assert label_drift(spread, spread, targets, 0.9, seed=0) is None


def test_alpha_spending_sums_to_alpha_and_tightens() -> None:
    levels = [spent_confidence(0.9, k) for k in range(1, 60)]
    assert levels == sorted(levels)
    assert math.isclose(sum(1 - c for c in levels), 0.1, rel_tol=1e-6)
    assert math.isclose(levels[0], 0.95) and math.isclose(levels[1], 0.975)
