"""The learning loop's writes, in the product's words: commit a version (with the deltas that made it), reject one,
accept one, record the gate's decision or a judge's critique. A mixin of `Store`; the rows are built here, so no
module outside the store knows the tables. Each write is idempotent: a resumed run writes nothing twice."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from promptlearn.playbook import Delta, Playbook
from promptlearn.store.tables import CritiqueRow, DeltaRow, GateRow, VersionRow

Outcome = tuple[Delta, bool, str]  # a proposed delta, whether it applied, and why not (or a note)


class GateOutcome(Protocol):
    """What the gate measured and decided (optimize/gate.py's GateResult)."""

    @property
    def accepted(self) -> bool: ...
    @property
    def diff(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def p_value(self) -> float: ...
    @property
    def n(self) -> int: ...
    @property
    def reason(self) -> str: ...


class JudgeVerdict(Protocol):
    """A judge's critique of one rollout (judging's Verdict)."""

    @property
    def critique(self) -> str: ...
    @property
    def failure_mode(self) -> str: ...
    @property
    def suggested_rule(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def confidence(self) -> float | None: ...
    @property
    def lm_call_key(self) -> str | None: ...


class VersionRecords:
    # ---- provided by Store ----------------------------------------------------------------------------------
    def add_version(self, row: VersionRow, deltas: Sequence[DeltaRow] = ()) -> VersionRow:
        raise NotImplementedError

    def set_version_status(self, run_id: str, number: int, status: str, scores: dict[str, Any] | None = None,
                           note: str | None = None) -> None:
        raise NotImplementedError

    def gate_decisions(self, run_id: str) -> list[GateRow]:
        raise NotImplementedError

    def add_gate_decision(self, row: GateRow) -> None:
        raise NotImplementedError

    def add_critique(self, row: CritiqueRow) -> CritiqueRow:
        raise NotImplementedError

    # ---- the loop's words -----------------------------------------------------------------------------------
    def commit_version(self, run_id: str, number: int, playbook: Playbook, *, status: str,
                       parent: int | None = None, iteration: int = 0, outcomes: Sequence[Outcome] = (),
                       note: str = "") -> VersionRow:
        """Version `number` of the run's playbook and the deltas proposed for it (applied or not, and why), in one
        transaction; a version already stored (a resumed run) is returned as it is."""
        deltas = [DeltaRow(run_id=run_id, version_number=number, op=d.op, section=d.section, bullet_id=d.bullet_id,
                           text=d.text, reason=d.reason, evidence_json=json.dumps(d.evidence), applied=applied,
                           note=why)
                  for d, applied, why in outcomes]
        row = VersionRow(run_id=run_id, number=number, parent_number=parent, iteration=iteration, status=status,
                         content_json=playbook.to_json(), content_hash=playbook.content_hash(), note=note)
        return self.add_version(row, deltas)

    def accept_version(self, run_id: str, number: int) -> None:
        self.set_version_status(run_id, number, "accepted")

    def record_rejection(self, run_id: str, number: int, reason: str) -> None:
        """Candidate `number` is rejected before the gate (screening, a blocked bullet, nothing applied...)."""
        self.set_version_status(run_id, number, "rejected", note=reason)

    def record_gate_decision(self, run_id: str, number: int, baseline: int, gate: GateOutcome, val: float) -> None:
        """The gate's decision on candidate `number` against version `baseline` (stored once: a resumed run
        decides identically), and the candidate's val score: rejected for the gate's reason, or still a
        candidate until the loop picks the best of those that passed."""
        if not any(g.version_number == number for g in self.gate_decisions(run_id)):
            self.add_gate_decision(GateRow(
                run_id=run_id, version_number=number, baseline_number=baseline, n=gate.n, diff=gate.diff,
                low=gate.low, high=gate.high, p_value=gate.p_value, accepted=gate.accepted, reason=gate.reason))
        if gate.accepted:
            self.set_version_status(run_id, number, "candidate", {"val": val})
        else:
            self.set_version_status(run_id, number, "rejected", {"val": val}, gate.reason)

    def record_critique(self, run_id: str, rollout_id: int, judge: str, verdict: JudgeVerdict, *, correct: bool,
                        flags: str = "") -> CritiqueRow:
        """A judge's critique of a rollout beside the code's verdict (`correct`); the stored one if there is one."""
        return self.add_critique(CritiqueRow(
            run_id=run_id, rollout_id=rollout_id, judge=judge, critique=verdict.critique,
            failure_mode=verdict.failure_mode, suggested_rule=verdict.suggested_rule, verdict=verdict.verdict,
            confidence=verdict.confidence, code_verdict="pass" if correct else "fail", flags=flags,
            lm_call_key=verdict.lm_call_key))
