"""Where candidate deltas come from, besides the rewriter: worked examples, and what the rewriter must not repeat.

- Worked examples: training inputs with their correct answers, as items of an `examples` section (counted in
  the token budget, credited and pruned like any bullet), for the labels the batch confused. Examples from the
  data carry the label conventions a small rewriter cannot put into words; they come from the training split
  only, never from val or test, and never from the batch they are screened on.
- Rules that describe one example ("in this case", a quoted input) are dropped before they cost a validation.
- What was tried and failed is remembered, so the rewriter is told not to propose it again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from promptlearn.data import Example
from promptlearn.playbook import EXAMPLES_SECTION, Delta, Playbook
from promptlearn.playbook.curation import jaccard, word_set
from promptlearn.playbook.deltas import MAX_EXAMPLE_TEXT
from promptlearn.rollouts import RolloutResult

_SPECIFIC = re.compile(r"\b(in this case|this (customer|user|example|message|question|input|sentence)|"
                       r"the (customer|user) (says|said|asks|asked|wants))\b", re.IGNORECASE)
QUOTED_WORDS = 6  # a rule repeating this many consecutive words of an input is about that input
# A small rewriter often writes the edit instead of the rule ("Add a rule to classify messages by category"): the
# task model would read an instruction to itself about editing rules. Seen in the demo run, proposed four times;
# also as an edit of the prompt ("Update the model's system prompt to clarify that it answers ...").
_META = re.compile(r"^\W*(add|create|include|insert|write|update|modify|change|remove)\b[^.:]{0,40}?"
                   r"\b(rule|bullet|instruction|guideline|prompt)s?\b", re.IGNORECASE)
# ... though often the rule itself follows, quoted or after a colon ("Add a new rule: 'When ..., answer X.'"): of
# the 1.5B rewriter's 12 rules in the demo, 6 were written this way. The rule is kept; the edit around it is not.
_RULE_START = re.compile(r"^\s*(?:(?:to\s+(?:clarify|say|state|specify|explain)\s+)?that\s+|[^:]*?:\s*)"
                         r"[\"'\u2018\u201c]?|^[^:]*?\s[\"\u201c]", re.IGNORECASE)
_QUOTES = "\"'\u2018\u2019\u201c\u201d"
SALVAGED_MIN_WORDS = 4  # words besides labels and "or": "...: SHIPPING, BUG, ACCOUNT, or SHIPPING." is no rule
_LABEL_LIST_WORD = re.compile(r"^(?:[A-Z0-9_]+|or|and|nor)$")


def example_text(input_text: str, target: str) -> str:
    return f'Input: "{" ".join(input_text.split())}" -> Answer: {target}'


def worked_examples(playbook: Playbook, failures: Sequence[RolloutResult], train: Sequence[Example], limit: int,
                    avoid: Collection[str] = (), skip: Collection[str] = ()) -> list[tuple[Delta, Example]]:
    """Up to `limit` worked examples for the batch's confusions, taken from the training split: for each
    confusion (target, wrong answer), most frequent first, a training example of the target and then one of the
    label the model wrongly gave (the boundary from both sides). Examples in `avoid` (the batch: what screening
    tests on) are never used, so a candidate cannot pass screening by copying its answers; neither are examples
    already in the playbook or tried before (`skip`, by text). Where no other training example has the target
    (free-form tasks), any unused one shows the expected form. For classification, places left go to labels the
    playbook has no example of yet, most frequent first (one example per label is the few-shot baseline)."""
    shown = {b.text for b in playbook.bullets if b.section == EXAMPLES_SECTION} | set(skip)
    pool = [e for e in train if e.id not in set(avoid)
            and len(example_text(e.input, e.target)) <= MAX_EXAMPLE_TEXT
            and example_text(e.input, e.target) not in shown]
    by_label: dict[str, list[Example]] = {}
    for example in pool:
        by_label.setdefault(example.target.strip().lower(), []).append(example)
    # Labels some *other* training example has: a target outside them is free-form (a JSON record, a sentence).
    failed_ids = {r.example.id for r in failures}
    train_labels = {e.target.strip().lower() for e in train if e.id not in failed_ids}
    confusion = Counter((r.example.target, r.parsed) for r in failures)
    picked: list[tuple[Delta, Example]] = []
    used: set[str] = set()

    def take(label: str | None, why: str) -> None:
        candidates = by_label.get((label or "").strip().lower(), []) if label else pool
        example = next((e for e in candidates if e.id not in used), None)
        if example is None or len(picked) >= limit:
            return
        used.add(example.id)
        picked.append((Delta(op="add", section=EXAMPLES_SECTION, text=example_text(example.input, example.target),
                             reason=why), example))

    for (target, answered), _n in confusion.most_common():
        said = answered if answered is not None else "an unusable answer"
        before = len(picked)
        take(target, f"worked example of {target} (the model answered {said!s:.40})")
        if len(picked) == before and target.strip().lower() not in train_labels:
            take(None, "worked example of the expected answer form")  # a free-form answer: show its form
        if answered is not None and answered.strip().lower() != target.strip().lower():
            take(answered, f"worked example of {answered!s:.40}, the label given instead of {target}")
    # Places left go to labels the playbook shows no example of yet (classification only: labels that repeat).
    if len(train_labels) <= len(train) / 2:
        have = {b.text.rsplit("-> Answer: ", 1)[-1].strip().lower() for b in playbook.bullets
                if b.section == EXAMPLES_SECTION} | {e.target.strip().lower() for _d, e in picked}
        # Ties broken by name: set order follows string hashing, which changes per process (a resume or replay would
        # pick other examples).
        for label in sorted(set(by_label) - have, key=lambda lab: (-len(by_label[lab]), lab)):
            take(label, f"worked example of {label}, a label the playbook had no example of")
    return picked


def with_examples_section(playbook: Playbook) -> Playbook:
    if EXAMPLES_SECTION in playbook.sections:
        return playbook
    return playbook.model_copy(update={"sections": (*playbook.sections, EXAMPLES_SECTION)})


def _shingles(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def salvaged_rule(text: str) -> str | None:
    """The rule inside an edit written instead of a rule ("Add a rule: 'When X, answer Y.'" -> "When X, answer
    Y."), or None when the text is no such edit or what follows it is too short or a list of labels."""
    meta = _META.search(text)
    if not meta:
        return None
    rest = text[meta.end():]
    opening = _RULE_START.match(rest)  # "...: 'rule'", "...: rule", "... that rule", '... "rule"'
    if not opening:
        return None
    rule = rest[opening.end():].strip()
    rule = re.sub(f"[{_QUOTES}]+(?=\\W*$)", "", rule).strip()  # the closing quote, before or after the stop
    if sum(not _LABEL_LIST_WORD.match(w.strip(".,;:()")) for w in rule.split()) < SALVAGED_MIN_WORDS:
        return None
    return rule  # as written: a first word may be a label (refund_request), so no capital is forced


def example_specific(text: str, inputs: Sequence[str]) -> str | None:
    """Why a rule is about one example rather than a class of inputs (or is no rule at all), or None."""
    meta = _META.search(text)
    if meta:
        return f"describes an edit, not a rule ('{meta.group(0).strip()}')"
    match = _SPECIFIC.search(text)
    if match:
        return f"describes one example ('{match.group(0)}')"
    rule = _shingles(text, QUOTED_WORDS)
    if not rule:
        return None
    # Words several inputs share are the task's own wording (every BBH disambiguation_qa input ends with the same
    # instructions), not one example's: a rule may repeat them.
    per_input = [_shingles(i, QUOTED_WORDS) for i in inputs]
    seen = Counter(s for shingles in per_input for s in shingles)
    if any(rule & {s for s in shingles if seen[s] == 1} for shingles in per_input):
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
            rule = salvaged_rule(delta.text)
            if rule is not None:
                delta = delta.model_copy(update={"text": rule})
            why = example_specific(delta.text, inputs)
            again = repeats(delta.text, tried, threshold)
            if why or again:
                dropped.append((delta, why or f"repeats a rule already tried ({again.outcome if again else ''})"))
                continue
        kept.append(delta)
    return kept, dropped
