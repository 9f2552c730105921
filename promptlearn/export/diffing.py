"""Compare two playbook versions bullet by bullet, with the stored reasons; roll a run back to an old version.

A rollback never rewrites history: it adds a new version (max + 1) with the old content, status `accepted`,
parent the old version, so `history.playbook_at(run)` returns it and every earlier version stays stored.
"""

from __future__ import annotations

import json
from typing import Any

from promptlearn.errors import ConfigError
from promptlearn.export.refs import Resolved, resolve, stored_val_accuracy
from promptlearn.history import playbook_at
from promptlearn.playbook import Bullet
from promptlearn.store import Store
from promptlearn.store.tables import DeltaRow, VersionRow


def lineage(store: Store, resolved: Resolved, stop: int | None = None) -> list[VersionRow]:
    """The version and its ancestors by `parent_number`, oldest first, ending after `stop` when it is one."""
    by_number = {v.number: v for v in store.versions(resolved.run.id)}
    chain: list[VersionRow] = []
    current: VersionRow | None = resolved.version
    while current is not None and current.number != stop and current.number not in {v.number for v in chain}:
        chain.append(current)
        current = by_number.get(current.parent_number) if current.parent_number is not None else None
    return chain[::-1]


class _Explainer:
    """Finds, for a bullet, the applied delta (or the version note) in B's lineage that explains its change."""

    def __init__(self, store: Store, b: Resolved, versions: list[VersionRow]):
        self.versions = versions
        self.deltas = [d for v in versions for d in store.deltas(b.run.id, v.number) if d.applied]
        self.critiques = {c.rollout_id: c for c in store.critiques(b.run.id)}
        self.fallback = b.version.note

    def _match(self, op: str, bullet: Bullet) -> DeltaRow | None:
        hits = [d for d in self.deltas if d.op == op and (d.bullet_id == bullet.id or d.note.endswith(f" {bullet.id}")
                                                          or (op == "add" and d.text == bullet.text))]
        return hits[-1] if hits else None

    def explain(self, op: str, bullet: Bullet) -> dict[str, Any]:
        delta = self._match(op, bullet)
        if delta is None:
            notes = [v for v in self.versions if bullet.id in v.note]
            note = notes[-1].note if notes else self.fallback
            return {"version": notes[-1].number if notes else None, "reason": note, "evidence": [], "critiques": []}
        evidence = [str(e) for e in json.loads(delta.evidence_json)]
        return {"version": delta.version_number, "reason": delta.reason or delta.note, "evidence": evidence,
                "critiques": self._critiques(evidence)}

    def _critiques(self, evidence: list[str]) -> list[dict[str, str]]:
        out = []
        for ref in evidence:
            critique = self.critiques.get(int(ref[1:])) if ref[:1] == "r" and ref[1:].isdigit() else None
            if critique is not None:
                out.append({"rollout": ref, "critique": critique.critique, "failure_mode": critique.failure_mode})
        return out


def _bullet(b: Bullet) -> dict[str, Any]:
    return {"id": b.id, "section": b.section, "text": b.text}


def diff_versions(store: Store, ref_a: str, ref_b: str) -> dict[str, Any]:
    """Bullets added, removed and changed from `ref_a` to `ref_b` (`RUN`, `RUN@V`, or `@V` for A's run)."""
    a = resolve(store, ref_a)
    b = resolve(store, ref_b, default_run=a.run.id)
    stop = a.version.number if a.run.id == b.run.id else None
    why = _Explainer(store, b, lineage(store, b, stop))
    old, new = {x.id: x for x in a.playbook.bullets}, {x.id: x for x in b.playbook.bullets}
    val_a, val_b = stored_val_accuracy(store, a), stored_val_accuracy(store, b)
    return {
        "a": {"ref": a.label, "val": val_a, "bullets": len(old)},
        "b": {"ref": b.label, "val": val_b, "bullets": len(new)},
        "score_change": None if val_a is None or val_b is None else val_b - val_a,
        "seed_prompt_changed": a.playbook.seed_prompt != b.playbook.seed_prompt,
        "added": [{**_bullet(x), **why.explain("add", x)} for i, x in new.items() if i not in old],
        "removed": [{**_bullet(x), **why.explain("remove", x)} for i, x in old.items() if i not in new],
        "changed": [{"id": i, "before": _bullet(old[i]), "after": _bullet(x), **why.explain("update", x)}
                    for i, x in new.items() if i in old and (old[i].text, old[i].section) != (x.text, x.section)],
    }


def rollback(store: Store, run_id: str, version: int) -> int:
    """Make `version` current again by adding a new accepted version with its content; returns the new number."""
    run = store.get_run(run_id)
    if run.status in ("running", "stopped"):
        raise ConfigError(f"run {run.id} is {run.status} and may still add versions; let it finish (or resume it "
                          f"with `promptlearn optimize --resume {run.id}`) before rolling back")
    _playbook, number = playbook_at(store, run.id, version)
    _current, current = playbook_at(store, run.id)
    old, now = store.get_version(run.id, number), store.get_version(run.id, current)
    assert old is not None and now is not None
    if old.content_hash == now.content_hash:
        raise ConfigError(f"version {number} is already the current content of run {run.id} (v{current})")
    new = max(v.number for v in store.versions(run.id)) + 1
    store.add_version(VersionRow(
        run_id=run.id, number=new, parent_number=number, iteration=old.iteration, status="accepted",
        content_json=old.content_json, content_hash=old.content_hash, scores_json=old.scores_json,
        note=f"rollback to v{number}"))
    summary = json.loads(run.summary_json)
    store.finish_run(run.id, run.status, {**summary, "current_version": new})
    return new
