"""Screen before you validate (as GEPA does): a candidate is first scored on the training examples its evidence
came from plus a few that already worked, paired with the current playbook's answers there. Only a candidate that
fixes more than it breaks spends a full validation pass; the screening set is training data, so the validation
set stays untouched by everything but the final decision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptlearn.rollouts import RolloutResult


@dataclass(frozen=True)
class Screening:
    fixed: int
    broken: int
    n: int

    @property
    def net(self) -> int:
        return self.fixed - self.broken

    def passed(self, min_net: int) -> bool:
        return self.net >= min_net

    def describe(self) -> str:
        return f"screening on {self.n} training examples: fixed {self.fixed}, broke {self.broken}"


def screening_set(results: Sequence[RolloutResult], failures: Sequence[RolloutResult],
                  successes: int) -> list[RolloutResult]:
    """The current playbook's rollouts to screen against: the critiqued failures, then up to `successes` correct
    answers (a candidate must not break what works)."""
    chosen = {id(r) for r in failures}
    kept = [r for r in results if r.correct][:successes]
    return [*failures, *(r for r in kept if id(r) not in chosen)]


def compare(base: Sequence[RolloutResult], cand: Sequence[RolloutResult]) -> Screening:
    by_id = {r.example.id: r.correct for r in base}
    fixed = sum(1 for r in cand if r.correct and not by_id.get(r.example.id, False))
    broken = sum(1 for r in cand if not r.correct and by_id.get(r.example.id, False))
    return Screening(fixed, broken, len(cand))
