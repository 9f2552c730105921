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
    salvaged_rule,
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


TRAIN = [Example(f"t{i}", f"training message {i} about {label}", label)
         for i, label in enumerate(["balance", "bill_balance", "transfer", "routing", "balance", "transfer"])]


def test_worked_examples_show_both_sides_of_each_confusion_from_the_training_split() -> None:
    failures = [rollout(1, "balance", "bill_balance"), rollout(2, "transfer", "routing"),
                rollout(3, "transfer", "routing")]
    book = with_examples_section(Playbook(seed_prompt="Classify."))
    picked = worked_examples(book, failures, TRAIN, limit=4)
    # transfer/routing is the most frequent confusion: an example of each side, then balance/bill_balance.
    assert [e.id for _d, e in picked] == ["t2", "t3", "t0", "t1"]
    deltas = [d for d, _e in picked]
    assert deltas[0].text == example_text(TRAIN[2].input, "transfer")
    assert all(d.section == EXAMPLES_SECTION and d.op == "add" for d in deltas)
    assert "routing" in deltas[0].reason and "instead of transfer" in deltas[1].reason
    assert len(worked_examples(book, failures, TRAIN, limit=1)) == 1


def test_worked_examples_never_come_from_the_screened_batch_nor_repeat() -> None:
    failures = [rollout(1, "balance", "bill_balance")]
    book = with_examples_section(Playbook(seed_prompt="Classify."))
    picked = worked_examples(book, failures, TRAIN, limit=4, avoid={"t0"})
    assert [e.id for _d, e in picked] == ["t4", "t1"]  # t0 is in the batch: the next balance example is used
    applied = book.apply([d for d, _e in picked]).playbook
    again = worked_examples(applied, failures, TRAIN, limit=4, avoid={"t0"})
    assert [e.id for _d, e in again] == []  # every balance / bill_balance example is shown already
    assert worked_examples(book, failures, TRAIN, limit=4, skip={d.text for d, _e in picked}, avoid={"t0"}) == []
    rendered = applied.render()
    assert "### Examples" in rendered and 'Input: "training message 4 about balance" -> Answer: balance' in rendered


def test_a_free_form_task_gets_an_example_of_the_expected_form() -> None:
    train = [Example("a", "note a", '{"k": 1}'), Example("b", "note b", '{"k": 2}')]
    failures = [RolloutResult(Example("c", "note c", '{"k": 3}'), "k is 3", 0.0, "", None, rollout_id=9)]
    picked = worked_examples(Playbook(seed_prompt="x"), failures, train, limit=2)
    assert [e.id for _d, e in picked] == ["a"] and "expected answer form" in picked[0][0].reason


def test_rules_about_one_example_are_caught() -> None:
    inputs = ["i need twenty thousand dollars transferred from my savings to my checking today"]
    assert example_specific("In this case, the customer is changing their address", inputs)
    assert example_specific("Transferred from my savings to my checking today is TRANSFER", inputs)
    assert example_specific("Messages about moving money between accounts are transfer.", inputs) is None


def test_a_rule_may_repeat_the_wording_every_input_shares() -> None:
    # BBH disambiguation_qa: each input ends with the task's instructions; a rule restating them is not about
    # one example (the learn runs dropped such rules as quotes), while a rule quoting one input's sentence is.
    tail = "explain the antecedent of the pronoun (which thing the pronoun refers to), or state that it is ambiguous"
    inputs = [f"In the following sentences, {tail}. Sentence: The chef fed the cat because he was hungry.",
              f"In the following sentences, {tail}. Sentence: The nurse called the doctor since she was late."]
    rule = "To answer the question, explain the antecedent of the pronoun (which thing the pronoun refers to)."
    assert example_specific(rule, inputs) is None
    assert example_specific("Answer (A) when the chef fed the cat because he was hungry.", inputs)
    assert example_specific(rule, inputs[:1])  # one input: its wording is that example's


def test_an_edit_written_instead_of_a_rule_is_caught() -> None:
    # The demo's rewriter proposed this four times; the task model would read it as an instruction to itself.
    meta = "Add a rule to classify customer support messages based on the category of the message: SHIPPING, BUG."
    assert (example_specific(meta, []) or "").startswith("describes an edit, not a rule ('Add a rule")
    assert example_specific("Create a new bullet for refund requests.", [])
    # Rules that merely use these verbs or nouns are rules.
    assert example_specific("When the message asks to update an address, answer ACCOUNT.", []) is None
    assert example_specific("Requests to change or remove a saved card are ACCOUNT.", []) is None
    assert example_specific("Follow the formatting rule: reply with the label only.", []) is None
    # An edit of the prompt is an edit too (the demo's v11, which passed screening as a rule).
    assert example_specific("Update the model's system prompt to clarify the four categories.", [])
    assert example_specific("When the prompt asks for a refund, answer BILLING.", []) is None


def test_the_rule_inside_an_edit_is_kept_and_the_edit_around_it_dropped() -> None:
    # The 1.5B rewriter wrote 6 of its 12 demo rules this way; each was dropped whole before.
    assert salvaged_rule("Add a new rule: 'When the message asks about a parcel, answer SHIPPING.'") == \
        "When the message asks about a parcel, answer SHIPPING."
    assert salvaged_rule('Add a rule \u201cif the user asks for the weather, answer weather\u201d.') == \
        "if the user asks for the weather, answer weather."
    assert salvaged_rule("Add a rule that when the customer's card is declined, answer BILLING.") == \
        "when the customer's card is declined, answer BILLING."
    # A list of labels after the colon is no rule; nor is an edit with nothing after it, nor a rule itself.
    assert salvaged_rule("Add a rule to classify messages by the category of the message: SHIPPING, BUG.") is None
    # Seen in the demo: five words, all labels.
    assert salvaged_rule("Add a rule to classify messages by category: SHIPPING, BUG, ACCOUNT, or SHIPPING.") is None
    assert salvaged_rule("Add a rule: refund_request is for money back.") == "refund_request is for money back."
    assert salvaged_rule("Update the model's system prompt to clarify that messages about a parcel are SHIPPING.") \
        == "messages about a parcel are SHIPPING."
    assert salvaged_rule("Create a new bullet for refund requests.") is None
    assert salvaged_rule("When the message asks to update an address, answer ACCOUNT.") is None
    deltas = [Delta(op="add", text="Add a new rule: 'Messages about moving money between accounts are TRANSFER.'"),
              Delta(op="add", text="Add a rule to classify messages by category: SHIPPING, BUG.")]
    kept, dropped = filter_rules(deltas, [], [], threshold=0.7)
    assert [d.text for d in kept] == ["Messages about moving money between accounts are TRANSFER."]
    assert [why for _d, why in dropped] == ["describes an edit, not a rule ('Add a rule')"]
    # A salvaged rule is still checked: a repeat of a rule tried before is dropped.
    tried = [Tried("Messages about moving money between accounts are TRANSFER.", "rejected")]
    assert filter_rules(deltas[:1], [], tried, threshold=0.7)[0] == []


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


def test_places_left_go_to_labels_without_an_example() -> None:
    labels = ["a", "b", "c", "d"]
    train = [Example(f"t{i}", f"message {i}", labels[i % 4]) for i in range(16)]
    failures = [rollout(99, "a", "b")]
    picked = worked_examples(Playbook(seed_prompt="x"), failures, train, limit=4)
    assert sorted(e.target for _d, e in picked) == ["a", "b", "c", "d"]  # a and b for the confusion, then c, d
    assert "had no example" in picked[-1][0].reason
    free_form = [Example(f"f{i}", f"note {i}", f"record {i}") for i in range(8)]
    assert len(worked_examples(Playbook(seed_prompt="x"), [], free_form, limit=4)) == 0  # no labels to cover


def test_worked_examples_reach_the_task_model_as_turns_and_exports_reproduce_them() -> None:
    from promptlearn.export import messages_for
    from promptlearn.playbook.playbook import split_worked_examples
    from promptlearn.rollouts import task_messages

    book = with_examples_section(Playbook(seed_prompt="Classify {{ bank }} messages."))
    book = book.apply([Delta(op="add", text="Answer with the intent only."),
                       Delta(op="add", section=EXAMPLES_SECTION, text=example_text('my "card" is lost', "lost")),
                       Delta(op="add", section=EXAMPLES_SECTION, text=example_text("what is my balance", "balance"))
                       ]).playbook
    system, shots = split_worked_examples(book.render())
    assert shots == [('my "card" is lost', "lost"), ("what is my balance", "balance")]
    assert "Examples" not in system and "Answer with the intent only." in system
    messages = task_messages(book.render(), Example("x", "block my card", "freeze"))
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert messages[1:3] == [{"role": "user", "content": 'my "card" is lost'}, {"role": "assistant", "content": "lost"}]
    exported = messages_for(book, "block my card", bank="Acme")
    assert exported[0]["content"].startswith("Classify Acme messages.") and exported[1:] == messages[1:]
    plain = Playbook(seed_prompt="Classify.")
    assert task_messages(plain.render(), Example("x", "hi", "y")) == [
        {"role": "system", "content": "Classify."}, {"role": "user", "content": "hi"}]  # unchanged without examples
    only = with_examples_section(plain).apply([Delta(op="add", section=EXAMPLES_SECTION,
                                                     text=example_text("q", "a"))]).playbook
    assert split_worked_examples(only.render()) == ("Classify.", [("q", "a")])


def test_a_retry_reads_another_cluster_of_failures() -> None:
    from promptlearn.optimize.propose import other_cluster
    from promptlearn.optimize.rewriter import Evidence

    def ev(i: int, target: str) -> Evidence:
        return Evidence(f"r{i}", f"message {i}", "BILLING", target)

    failures = [ev(1, "BUG"), ev(2, "BUG"), ev(3, "SHIPPING"), ev(4, "ACCOUNT")]
    # The rule it repeated was about BUG: the retry reads the SHIPPING and ACCOUNT failures.
    again = other_cluster(failures, ["When the message contains the word 'refund', answer 'BUG'."])
    assert [e.rollout_id for e in again] == ["r3", "r4"]
    # Every label named (or free-form targets): the same failures, the first ones moved last.
    assert [e.rollout_id for e in other_cluster(failures, ["BUG, SHIPPING or ACCOUNT"])] == ["r3", "r4", "r1", "r2"]
