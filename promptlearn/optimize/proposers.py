"""Where candidate deltas come from, besides the rewriter: worked examples, and what the rewriter must not repeat.

- Worked examples: a failed training example with its correct answer, as a playbook item in the `examples`
  section (counted in the token budget, credited and pruned like any bullet). Examples from the data carry the
  label conventions a small rewriter cannot put into words; they come from the training split only, never from
  val or test. One per confusion (target, wrong answer), most frequent confusion first.
- Rules that describe one example ("in this case", a quoted input) are dropped before they cost a validation.
- What was tried and failed is remembered, so the rewriter is told not to propose it again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from promptlearn.playbook import EXAMPLES_SECTION, Delta, Playbook
from promptlearn.playbook.curation import jaccard, word_set
from promptlearn.playbook.deltas import MAX_EXAMPLE_TEXT
from promptlearn.rollouts import RolloutResult

_SPECIFIC = re.compile(r"\b(in this case|this (customer|user|example|message|question|input|sentence)|"
                       r"the (customer|user) (says|said|asks|asked|wants))\b", re.IGNORECASE)
QUOTED_WORDS = 6  # a rule repeating this many consecutive words of an input is about that input


def example_text(input_text: str, target: str) -> str:
    return f'Input: "{" ".join(input_text.split())}" -> Answer: {target}'


def worked_examples(playbook: Playbook, failures: Sequence[RolloutResult], limit: int,
                    skip: Collection[str] = ()) -> list[tuple[Delta, RolloutResult]]:
    """Up to `limit` worked examples from failed training rollouts, each with the rollout it came from: one per
    confusion, most frequent first, none already in the playbook or tried before (`skip`), none longer than an
    example may be."""
    shown = {b.text for b in playbook.bullets if b.section == EXAMPLES_SECTION} | set(skip)
    confusion = Counter((r.example.target, r.parsed) for r in failures)
    ordered = sorted(failures, key=lambda r: -confusion[(r.example.target, r.parsed)])
    picked: list[tuple[Delta, RolloutResult]] = []
    used: set[tuple[str, str | None]] = set()
    for result in ordered:
        key = (result.example.target, result.parsed)
        text = example_text(result.example.input, result.example.target)
        if key in used or text in shown or len(text) > MAX_EXAMPLE_TEXT:
            continue
        used.add(key)
        answered = result.parsed if result.parsed is not None else "an unusable answer"
        picked.append((Delta(op="add", section=EXAMPLES_SECTION, text=text,
                             reason=f"worked example: the model answered {answered!s:.60}",
                             evidence=[f"r{result.rollout_id}"]), result))
        if len(picked) >= limit:
            break
    return picked


def with_examples_section(playbook: Playbook) -> Playbook:
    if EXAMPLES_SECTION in playbook.sections:
        return playbook
    return playbook.model_copy(update={"sections": (*playbook.sections, EXAMPLES_SECTION)})


def _shingles(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def example_specific(text: str, inputs: Sequence[str]) -> str | None:
    """Why a rule is about one example rather than a class of inputs, or None."""
    match = _SPECIFIC.search(text)
    if match:
        return f"describes one example ('{match.group(0)}')"
    rule = _shingles(text, QUOTED_WORDS)
    if rule and any(rule & _shingles(i, QUOTED_WORDS) for i in inputs):
        return f"quotes a task input ({QUOTED_WORDS}+ words)"
    return None


@dataclass(frozen=True)
class Tried:
    """A rule that was proposed before, and what became of it."""

    text: str
    outcome: str


def repeats(text: str, tried: Sequence[Tried], threshold: float) -> Tried | None:
    words = word_set(text)
    return next((t for t in tried if jaccard(words, word_set(t.text)) >= threshold), None)


def filter_rules(deltas: Sequence[Delta], inputs: Sequence[str], tried: Sequence[Tried],
                 threshold: float) -> tuple[list[Delta], list[tuple[Delta, str]]]:
    """Keep the rule deltas worth a screening: not about one example, not a repeat of a failed rule."""
    kept: list[Delta] = []
    dropped: list[tuple[Delta, str]] = []
    for delta in deltas:
        if delta.op != "remove" and delta.section != EXAMPLES_SECTION:
            why = example_specific(delta.text, inputs)
            again = repeats(delta.text, tried, threshold)
            if why or again:
                dropped.append((delta, why or f"repeats a rule already tried ({again.outcome if again else ''})"))
                continue
        kept.append(delta)
    return kept, dropped
