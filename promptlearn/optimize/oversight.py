"""People in the loop and retired rules: the loop's expiry step and its review of what passed the gate.

- Expiry (`learn.expire_after`, optimize/expiry.py): stale bullets are proposed for removal as a candidate of
  their own, validated like any other; the gate tests it for non-inferiority.
- Review (`gate.review`, optimize/review.py): what passed the gate is taken only on a person's decision; with no
  decision yet the candidate is left `pending` and the run stops (ReviewPending).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from promptlearn.config import RunConfig
from promptlearn.optimize.events import Accepted, Event, Note
from promptlearn.optimize.expiry import Staleness, removal
from promptlearn.optimize.propose import Proposed
from promptlearn.optimize.review import ReviewPending, edited
from promptlearn.optimize.versions import Current, Validated
from promptlearn.playbook import Measured, Playbook
from promptlearn.rollouts import RolloutResult
from promptlearn.store import Store

Validate = Callable[[Proposed, Current, int], Validated | None]  # (candidate, current, held_for_test)


class Oversight:
    def __init__(self, cfg: RunConfig, store: Store, run_id: str, emit: Callable[[Event], None],
                 next_number: Callable[[], int], validate: Validate, measured: Callable[[], Mapping[str, Measured]]):
        self.cfg, self.store, self.run_id, self.emit = cfg, store, run_id, emit
        self.next_number, self.validate, self.measured = next_number, validate, measured
        after = cfg.learn.expire_after
        self.staleness = Staleness(after) if after is not None else None

    def observe(self, iteration: int, playbook: Playbook, results: Sequence[RolloutResult] = ()) -> None:
        if self.staleness:
            self.staleness.observe(iteration, playbook, results)

    def expire(self, iteration: int, current: Current, held_for_test: int) -> Current | None:
        """Stale bullets proposed for removal; the new current version when the removal is accepted."""
        if self.staleness is None:
            return None
        stale = self.staleness.stale(iteration, current.playbook, self.measured())
        if not stale:
            return None
        number = self.next_number()
        candidate = removal(current.playbook, stale, number)
        self.store.commit_version(self.run_id, number, candidate.playbook, status="candidate", parent=current.number,
                                  iteration=iteration, outcomes=candidate.outcomes, note="origin: expiry")
        self.emit(Note(f"candidate v{number} retires " + "; ".join(f"{b.id} ({why})" for b, why in stale)))
        outcome = self.validate(Proposed(number, candidate, "expiry"), current, held_for_test)
        self.staleness.tried_removal(iteration, [b.id for b, _why in stale])
        return self.accept(outcome, iteration, current, held_for_test) if outcome else None

    def accept(self, outcome: Validated, iteration: int, current: Current, held_for_test: int) -> Current | None:
        """Accept a candidate that passed the gate, once review (if on) agrees: the new current version, or None
        when review dropped it."""
        settled = self.settle(outcome, iteration, current, held_for_test)
        if settled is None:
            return None
        self.store.accept_version(self.run_id, settled.number)
        self.emit(Accepted(settled.number, len(settled.playbook.bullets)))
        return settled.as_current()

    def settle(self, outcome: Validated, iteration: int, current: Current, held_for_test: int) -> Validated | None:
        """Under `gate.review`, the person's decision on a candidate that passed the gate: taken, dropped, or an
        edited bullet validated again as a new version. No decision yet: left `pending`, and the run stops."""
        number = outcome.number
        if not self.cfg.gate.review:
            return outcome
        decision = self.store.review_decision(self.run_id, number)
        if decision is None:
            self.store.set_version_status(self.run_id, number, "pending")
            raise ReviewPending(self.run_id, number)
        if decision.decision == "accept":
            return outcome
        if decision.decision == "reject":
            self.store.record_rejection(self.run_id, number, "review: rejected")
            return None
        self.store.set_version_status(self.run_id, number, "edited", note=f"review: edit of {decision.bullet_id}")
        new = self.next_number()
        candidate = edited(outcome.playbook, decision.bullet_id, decision.text, new)
        self.store.commit_version(self.run_id, new, candidate.playbook, status="candidate", parent=current.number,
                                  iteration=iteration, outcomes=candidate.outcomes,
                                  note=f"origin: review edit of v{number}")
        self.emit(Note(f"candidate v{new}: v{number} with {decision.bullet_id} edited in review, validated again"))
        # A person wrote the edit: once the gate passes it, it is accepted without a second review.
        return self.validate(Proposed(new, candidate, "review"), current, held_for_test)


__all__ = ["Current", "Oversight", "ReviewPending", "Validated"]
