"""Review: under `gate.review`, a candidate that passes the gate waits as `pending` for a person, and the run stops
there. `promptlearn review RUN` (or `promptlearn serve`) writes the decision to the store; `optimize --resume`
replays the run to the same candidate and goes on from the decision: accepted, rejected, or a bullet edited
(the edited playbook is a new version, validated by the gate before it is accepted)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from promptlearn.errors import ConfigError
from promptlearn.optimize.steps import Candidate
from promptlearn.playbook import Delta, Playbook
from promptlearn.store import Store
from promptlearn.store.tables import CritiqueRow, RolloutRow


class ReviewPending(Exception):
    """The run reached a candidate that waits for a person's decision."""

    def __init__(self, run_id: str, version: int):
        self.run_id, self.version = run_id, version
        super().__init__(f"v{version} passed the gate and waits for review: promptlearn review {run_id} "
                         f"(then promptlearn optimize --resume {run_id})")


def edited(playbook: Playbook, bullet_id: str | None, text: str, version: int) -> Candidate:
    """`playbook` with one bullet's text replaced by a reviewer's, as a candidate (an `update` delta)."""
    bullet = playbook.get(bullet_id or "")
    if bullet is None:
        raise ConfigError(f"review edit: no bullet '{bullet_id}' in the reviewed version")
    delta = Delta(op="update", section=bullet.section, bullet_id=bullet.id, text=text, reason="edited in review")
    result = playbook.apply([delta], version=version)
    outcomes = tuple((o.delta, o.applied, o.reason) for o in result.outcomes)
    return Candidate(result.playbook, (delta,), outcomes, ("origin: review edit",))


def pending_reviews(store: Store, run_id: str) -> list[dict[str, Any]]:
    """What a person needs to decide on each pending candidate: its deltas with their evidence (the failures and
    the judge's critiques they came from), the gate's measurement, the val examples it wins and loses against the
    version it would replace, and how its answer distribution moves."""
    run = store.get_run(run_id)
    critiques = {c.rollout_id: c for c in store.critiques(run.id)}
    rollouts = store.rollouts(run.id)
    by_id = {r.id: r for r in rollouts}
    gates = {g.version_number: g for g in store.gate_decisions(run.id)}
    out = []
    for version in store.pending_versions(run.id):
        parent = version.parent_number or 0
        base = {r.example_id: r for r in rollouts if r.version_number == parent and r.split == "val"}
        cand = {r.example_id: r for r in rollouts if r.version_number == version.number and r.split == "val"}
        shared = [e for e in cand if e in base]
        gate = gates.get(version.number)
        out.append({
            "run_id": run.id, "version": version.number, "baseline": parent, "iteration": version.iteration,
            "note": version.note, "playbook": Playbook.from_json(version.content_json).render(),
            "bullets": [{"id": b.id, "section": b.section, "text": b.text}
                        for b in Playbook.from_json(version.content_json).bullets],
            "deltas": [{"op": d.op, "section": d.section, "bullet_id": d.bullet_id, "text": d.text,
                        "reason": d.reason, "applied": d.applied,
                        "evidence": [_evidence(ref, by_id, critiques) for ref in json.loads(d.evidence_json)]}
                       for d in store.deltas(run.id, version.number)],
            "gate": None if gate is None else {"diff": gate.diff, "low": gate.low, "high": gate.high, "n": gate.n,
                                               "p": gate.p_value, "reason": gate.reason},
            "wins": [e for e in shared if cand[e].score > base[e].score],
            "losses": [e for e in shared if cand[e].score < base[e].score],
            "answers": {"baseline": _distribution(base[e].parsed for e in shared),
                        "candidate": _distribution(cand[e].parsed for e in shared)},
        })
    return out


def _evidence(ref: str, rollouts: dict[int | None, RolloutRow], critiques: dict[int, CritiqueRow]) -> dict[str, Any]:
    number = int(ref[1:]) if ref.startswith("r") and ref[1:].isdigit() else None
    rollout = rollouts.get(number) if number is not None else None
    critique = critiques.get(number) if number is not None else None
    return {"ref": ref, "example": rollout.example_id if rollout else None,
            "output": rollout.output if rollout else None, "critique": critique.critique if critique else None}


def _distribution(answers: Iterable[str | None]) -> dict[str, int]:
    counts = Counter("(unparsed)" if a is None else a for a in answers)
    return dict(sorted(counts.items()))


def decide(store: Store, run_id: str, version: int, decision: str, *, bullet_id: str | None = None,
           text: str = "", reviewer: str = "") -> str:
    """Write a person's decision on pending `version`; returns what happens next, for the person."""
    run = store.get_run(run_id)
    if decision == "edit":
        row = store.get_version(run.id, version)
        bullets = Playbook.from_json(row.content_json).bullets if row else ()
        if not any(b.id == bullet_id for b in bullets):
            raise ConfigError(f"v{version} has no bullet '{bullet_id}' (bullets: {', '.join(b.id for b in bullets)})")
        if not text.strip():
            raise ConfigError("an edit needs the bullet's new text")
    store.record_review(run.id, version, decision, bullet_id=bullet_id, text=text.strip(), reviewer=reviewer)
    step = {"accept": "accepted", "reject": "rejected", "edit": "edited (validated again on resume)"}[decision]
    return f"v{version} {step}; continue the run: promptlearn optimize --resume {run.id}"
