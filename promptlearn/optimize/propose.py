"""Propose: from one training batch, several diverse candidates, each a typed `Proposed` with its origin.

- `rules`: the rewriter's deltas from the judge's critiques, the batch's label confusions, and for each failure a
  training example of the label the model wrongly gave (the boundary between two labels, side by side). Rules
  about one example, or repeating one already tried and rejected, are dropped; if nothing new is left (a near-copy
  of a bullet already in the playbook counts as nothing new) the rewriter is asked once more, told why.
- `examples`: worked examples from the batch's failures (`proposers.worked_examples`), no LM call.
- `merge`: the union of the two best screened candidates (GEPA's merge of lineages that win on different examples).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from promptlearn.config import RunConfig
from promptlearn.data import Dataset
from promptlearn.judging import ExplanatoryJudge
from promptlearn.optimize.events import (
    CritiquesReady,
    Event,
    Note,
    ProposalFailed,
    StepAdvanced,
    StepFinished,
    StepStarted,
)
from promptlearn.optimize.proposers import Tried, filter_rules, with_examples_section, worked_examples
from promptlearn.optimize.rewriter import Evidence, Proposal, Rewriter
from promptlearn.optimize.screen import Screening
from promptlearn.optimize.steps import Candidate, build_candidate, code_evidence, critique, error_patterns
from promptlearn.playbook import EXAMPLES_SECTION, Delta, Measured, Playbook
from promptlearn.rollouts import RolloutResult
from promptlearn.seeding import stream_seed
from promptlearn.store import Store


@dataclass
class Proposed:
    number: int
    candidate: Candidate
    origin: str  # rules | examples | merge
    screening: Screening | None = None
    # Training examples shown in the candidate as worked examples: screening leaves them out (they would pass by
    # being copied), so the screen measures whether the examples generalize to other inputs.
    shown_ids: frozenset[str] = frozenset()


def other_cluster(failures: list[Evidence], dropped: Sequence[str]) -> list[Evidence]:
    """The failures a retry should read: those whose expected answer no dropped rule names (another cluster of
    errors), first failures moved last; where every expected answer was named (or none is a short label), the same
    failures in another order."""
    named = " ".join(dropped).lower()
    rotated = failures[len(failures) // 2:] + failures[: len(failures) // 2]
    other = [f for f in rotated if f.target.strip() and len(f.target) <= 40 and f.target.strip().lower() not in named]
    return other or rotated


class Proposer:
    def __init__(self, cfg: RunConfig, store: Store, run_id: str, judge: ExplanatoryJudge, rewriter: Rewriter,
                 train: Dataset, next_number: Callable[[], int], measured: Callable[[], Mapping[str, Measured]],
                 emit: Callable[[Event], None], show_check: bool):
        self.show_check = show_check  # the scorer's failure reasons are worth showing (see SafeScorer)
        self.cfg, self.learn, self.store, self.run_id = cfg, cfg.learn, store, run_id
        self.judge, self.rewriter, self.train = judge, rewriter, train
        self.next_number, self.measured, self.emit = next_number, measured, emit
        self.tried: list[Tried] = []
        self.tried_examples: set[str] = set()

    # ---- memory of what failed ------------------------------------------------------------------------------
    def remember(self, candidate: Candidate, reason: str) -> None:
        for delta, applied, _why in candidate.outcomes:
            if not applied or delta.op == "remove":
                continue
            if delta.section == EXAMPLES_SECTION:
                self.tried_examples.add(delta.text)
            else:
                self.tried.append(Tried(delta.text, reason[:120]))

    # ---- proposing ------------------------------------------------------------------------------------------
    def propose(self, iteration: int, current: Playbook, current_no: int, results: Sequence[RolloutResult],
                failures: Sequence[RolloutResult]) -> list[Proposed]:
        successes = [r for r in results if r.correct][: self.learn.successes_shown]
        # The code decides correctness; the judge explains. One success is judged too, to measure trust.
        judged = [*failures, *successes[:1]]
        if self.learn.explain:
            self.emit(StepStarted("judge: critiques", len(judged)))
            evidence = critique(self.judge, self.store, self.run_id, current.render(), judged, self.show_check,
                                on_each=lambda: self.emit(StepAdvanced()))
            self.emit(StepFinished())
        else:
            evidence = [code_evidence(r, self.show_check) for r in judged]
        fail_ev = [self._with_contrast(e, r) for e, r in zip(evidence[: len(failures)], failures, strict=True)]
        ok_ev = evidence[len(failures):]
        patterns = error_patterns(results)
        self.emit(CritiquesReady(len(fail_ev)))
        out: list[Proposed] = []
        inputs = [r.example.input for r in results]
        for _index in range(self.learn.candidates):
            item = self._rules(iteration, current, current_no, fail_ev, ok_ev, patterns, inputs)
            if item:
                out.append(item)
        if self.learn.worked_examples and self.learn.mode == "deltas":
            item = self._examples(iteration, current, current_no, results)
            if item:
                out.append(item)
        return out

    def _with_contrast(self, evidence: Evidence, result: RolloutResult) -> Evidence:
        """Beside a failure, a training example whose correct answer is the one the model wrongly gave."""
        wrong = (result.parsed or "").strip().lower()
        if not wrong or wrong == result.example.target.strip().lower():
            return evidence
        other = next((e for e in self.train.examples
                      if e.target.strip().lower() == wrong and e.id != result.example.id), None)
        if other is None:
            return evidence
        return replace(evidence, contrast_input=other.input, contrast_target=other.target)

    def _rules(self, iteration: int, current: Playbook, current_no: int, failures: list[Evidence],
               successes: list[Evidence], patterns: list[str], inputs: list[str]) -> Proposed | None:
        number = self.next_number()
        seed = stream_seed(self.cfg.seed, "proposal", number)
        tried = [t.text for t in self.tried]
        self.emit(StepStarted(f"rewriter: candidate v{number}", 1))
        note = ""
        earlier_outcomes: tuple[tuple[Delta, bool, str], ...] = ()  # of an attempt that changed nothing
        for attempt in range(2):  # one retry at most (the budget counts it)
            proposal = self.rewriter.propose(current, failures, successes, seed + attempt, patterns, tried=tried,
                                             retry_note=note)
            if not proposal.ok:
                break
            candidate = self._candidate(current, proposal, number, inputs)
            candidate = replace(candidate, outcomes=candidate.outcomes + earlier_outcomes)  # all are kept
            if candidate.changed or self.learn.mode != "deltas":
                break
            # Nothing new survived (about one example, a repeat of a rejected rule, or a near-copy of a bullet
            # already in the playbook): ask again, saying why, so no iteration ends with nothing new tried.
            dropped = [(d, why) for d, applied, why in candidate.outcomes if not applied]
            note = "; ".join(f"'{d.text[:80]}' {why}" for d, why in dropped) or "it proposed no edit"
            earlier_outcomes = candidate.outcomes
            # Retried differently: what it proposed joins the rules not to repeat, and it reads another cluster of
            # failures (a small rewriter answers the first failure it reads; the bbh runs and the demo proposed one
            # rule again when shown the same failures in another order).
            tried = [*tried, *(d.text for d, _why in dropped if d.op != "remove")]
            failures = other_cluster(failures, [d.text for d, _why in dropped])
        self.emit(StepFinished())
        if not proposal.ok:
            self.store.commit_version(self.run_id, number, current, status="failed", parent=current_no,
                                      iteration=iteration, note=proposal.error or "")
            self.emit(ProposalFailed(number, proposal.error))
            return None
        return self._register(iteration, current_no, number, candidate, "rules", proposal.prompt is not None)

    def _candidate(self, current: Playbook, proposal: Proposal, number: int, inputs: list[str]) -> Candidate:
        """The proposal applied to the current playbook; rules dropped before applying are kept as outcomes."""
        dropped: list[tuple[Any, str]] = []
        if self.learn.mode == "deltas":
            kept, dropped = filter_rules(proposal.deltas, inputs, self.tried, self.learn.dedupe_threshold)
            proposal = replace(proposal, deltas=tuple(kept))
        candidate = build_candidate(current, proposal, self.learn, number, self.measured())
        return replace(candidate, outcomes=candidate.outcomes + tuple((d, False, w) for d, w in dropped))

    def _examples(self, iteration: int, current: Playbook, current_no: int,
                  results: Sequence[RolloutResult]) -> Proposed | None:
        if any(e.tools is not None for e in self.train.examples):
            return None  # a worked example is a (user, assistant text) turn, and a tool call is not text
        base = with_examples_section(current)
        failed = [r for r in results if not r.correct]
        picked = worked_examples(base, failed, self.train.examples, self.learn.worked_examples,
                                 avoid={r.example.id for r in results}, skip=self.tried_examples)
        if not picked:
            return None
        number = self.next_number()
        candidate = build_candidate(base, Proposal(deltas=tuple(d for d, _e in picked)), self.learn, number,
                                    self.measured())
        item = self._register(iteration, current_no, number, candidate, "examples", False)
        return replace(item, shown_ids=frozenset(e.id for _d, e in picked)) if item else None

    def merge(self, iteration: int, current: Playbook, current_no: int, a: Proposed, b: Proposed) -> Proposed | None:
        """The union of two screened candidates' applied deltas, on the current playbook."""
        if self.learn.mode != "deltas":
            return None
        deltas = tuple(d for item in (a, b) for d, applied, _w in item.candidate.outcomes if applied)
        if not deltas:
            return None
        number = self.next_number()
        base = with_examples_section(current)
        candidate = build_candidate(base, Proposal(deltas=deltas), self.learn, number, self.measured())
        item = self._register(iteration, current_no, number, candidate, "merge", False)
        return replace(item, shown_ids=a.shown_ids | b.shown_ids) if item else None

    def _register(self, iteration: int, current_no: int, number: int, candidate: Candidate, origin: str,
                  full_rewrite: bool) -> Proposed | None:
        notes = [f"origin: {origin}", *candidate.notes]
        self.store.commit_version(self.run_id, number, candidate.playbook, status="candidate", parent=current_no,
                                  iteration=iteration, outcomes=candidate.outcomes, note="; ".join(notes))
        if not candidate.changed and not full_rewrite:
            self.store.record_rejection(self.run_id, number, "no delta applied")
            reasons = "; ".join(reason for _d, applied, reason in candidate.outcomes if not applied)
            self.emit(Note(f"candidate v{number}: no delta applied ({reasons or 'empty proposal'})"))
            return None
        return Proposed(number, candidate, origin)


__all__ = ["Proposed", "Proposer"]
