"""Reward hacking: rules that game the grader instead of doing the task, and gains a second judge does not see.

Two checks. Every candidate's new or changed text is screened for grader talk and unexplained answer-letter
fixations (always recorded as flags; with `quality.block_grader_mentions` the candidate is rejected). After a
candidate is accepted, a second, different judge re-judges a sample of its claimed gains on val (examples the
baseline got wrong and the candidate got right): if it disagrees with most of them, the gain is flagged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from promptlearn.judging import ExplanatoryJudge
from promptlearn.playbook import Playbook
from promptlearn.quality.records import record_once
from promptlearn.rollouts import RolloutResult
from promptlearn.safety import grader_reason
from promptlearn.seeding import rng
from promptlearn.store import Store
from promptlearn.store.quality import iter_details

Emit = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Flag:
    key: str  # a bullet id, or "prompt" for a rewritten seed prompt
    reason: str
    text: str


def changed_texts(parent: Playbook, candidate: Playbook) -> list[tuple[str, str]]:
    """(bullet id, text) for each bullet the candidate added or changed; merges and updates count as changes."""
    before = {b.id: b.text for b in parent.bullets}
    changed = [(b.id, b.text) for b in candidate.bullets if before.get(b.id) != b.text]
    if candidate.seed_prompt != parent.seed_prompt:  # a full rewrite
        changed.append(("prompt", candidate.seed_prompt))
    return changed


def bullet_flags(parent: Playbook, candidate: Playbook) -> list[Flag]:
    return [Flag(key, reason, text) for key, text in changed_texts(parent, candidate)
            if (reason := grader_reason(text)) is not None]


def screen_candidate(store: Store, run_id: str, number: int, parent: Playbook, candidate: Playbook, emit: Emit,
                     block: bool) -> str | None:
    """Record and announce each flagged bullet of candidate `number`; a rejection reason when `block` is set and
    something was flagged, else None."""
    flags = bullet_flags(parent, candidate)
    for flag in flags:
        record_once(store, run_id, "flag", flag.key, None, number, reason=flag.reason, text=flag.text)
        emit("flag", {"version": number, "bullet": flag.key, "reason": flag.reason, "text": flag.text})
        emit("note", {"text": f"candidate v{number}: bullet {flag.key} {flag.reason}: {flag.text[:80]}"})
    if not (block and flags):
        return None
    first = flags[0]
    more = f" (and {len(flags) - 1} more)" if len(flags) > 1 else ""
    return f"rejected: reward-hacking smell: bullet {first.key} {first.reason}{more}"


@dataclass(frozen=True)
class Audit:
    version: int
    n: int  # verdicts the audit judge gave (unparseable replies left out)
    agreement: float | None  # share of claimed gains the audit judge also passes
    with_first_judge: float | None  # share where both judges gave the same verdict
    disagreements: tuple[str, ...]
    unparseable: int
    flagged: bool


class Auditor:
    def __init__(self, judge: ExplanatoryJudge, first: ExplanatoryJudge, store: Store, run_id: str, sample: int,
                 seed: int, emit: Emit):
        self.judge, self.first, self.store, self.run_id = judge, first, store, run_id
        self.sample, self.seed, self.emit = sample, seed, emit

    def gains(self, base: Sequence[RolloutResult], cand: Sequence[RolloutResult], number: int) -> list[RolloutResult]:
        """A seeded sample (kept in val order) of the candidate's rollouts that turned wrong into right."""
        before = {r.example.id: r for r in base}
        gained = [r for r in cand if r.correct and r.example.id in before and not before[r.example.id].correct]
        picked = sorted(rng(self.seed, "audit", number).sample(range(len(gained)), min(self.sample, len(gained))))
        return [gained[i] for i in picked]

    def audit(self, system_prompt: str, number: int, base: Sequence[RolloutResult],
              cand: Sequence[RolloutResult]) -> Audit:
        """Both judges judge each sampled gain (a judge error is an unparseable verdict, never an exception);
        judge calls come from the cache when a run is resumed."""
        sample = self.gains(base, cand, number)
        agree, same, judged, unparseable, disagreements = 0, 0, 0, 0, []
        for result in sample:
            audit = self.judge.judge(system_prompt, result.example, result.output).verdict
            if audit not in ("pass", "fail"):
                unparseable += 1
                continue
            judged += 1
            agree += audit == "pass"  # the code's claim: the answer is right
            same += audit == self.first.judge(system_prompt, result.example, result.output).verdict
            if audit != "pass":
                disagreements.append(result.example.id)
        flagged = judged > 0 and len(disagreements) > judged / 2
        outcome = Audit(number, judged, agree / judged if judged else None, same / judged if judged else None,
                        tuple(disagreements), unparseable, flagged)
        self._record(outcome)
        return outcome

    def _record(self, audit: Audit) -> None:
        record_once(self.store, self.run_id, "audit", "agreement", audit.agreement, audit.version,
                    judge=self.judge.name, n=audit.n, disagreements=list(audit.disagreements),
                    first_judge=self.first.name, with_first_judge=audit.with_first_judge,
                    unparseable=audit.unparseable)
        if audit.flagged:
            reason = (f"audit judge {self.judge.name} disagrees with {len(audit.disagreements)} of {audit.n} "
                      "claimed gains")
            record_once(self.store, self.run_id, "flag", "audit", None, audit.version, reason=reason,
                        text=", ".join(audit.disagreements))
            self.emit("flag", {"version": audit.version, "bullet": "audit", "reason": reason})
            self.emit("note", {"text": f"v{audit.version}: {reason}"})


def flags_summary(store: Store, run_id: str) -> list[dict[str, Any]]:
    return [{"version": row.version_number, "key": row.key, "reason": info.get("reason"), "text": info.get("text")}
            for row, info in iter_details(store.quality(run_id, "flag"))]


def audits_summary(store: Store, run_id: str) -> list[dict[str, Any]]:
    return [{"version": row.version_number, "agreement": row.value, **info}
            for row, info in iter_details(store.quality(run_id, "audit"))]
