"""Read-side views of stored runs for the CLI and reports: plain dicts, no SQL outside the store."""

from __future__ import annotations

import json
from typing import Any

from promptlearn.optimize.objectives import objective_front
from promptlearn.playbook import Playbook
from promptlearn.store import Store


def run_list(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    rows = []
    for run in store.list_runs(limit):
        summary = json.loads(run.summary_json)
        accuracy = summary.get("final_test", {}).get("accuracy", summary.get("accuracy"))
        rows.append({"id": run.id, "kind": run.kind, "name": run.name, "status": run.status,
                     "created": run.created_at.isoformat(timespec="seconds"), "accuracy": accuracy})
    return rows


def run_detail(store: Store, run_id: str, rollouts: int = 20) -> dict[str, Any]:
    run = store.get_run(run_id)
    versions = store.versions(run.id)
    stored = store.rollouts(run.id)
    return {
        "id": run.id, "kind": run.kind, "name": run.name, "status": run.status,
        "config": json.loads(run.config_json), "summary": json.loads(run.summary_json),
        "versions": [{"number": v.number, "parent": v.parent_number, "status": v.status, "iteration": v.iteration,
                      "bullets": len(Playbook.from_json(v.content_json).bullets), "scores": json.loads(v.scores_json),
                      "note": v.note} for v in versions],
        "gate": [{"version": g.version_number, "baseline": g.baseline_number, "n": g.n, "diff": g.diff, "low": g.low,
                  "high": g.high, "p": g.p_value, "accepted": g.accepted, "reason": g.reason}
                 for g in store.gate_decisions(run.id)],
        "rollout_count": len(stored),
        "rollouts": [{"id": r.id, "version": r.version_number, "split": r.split, "example": r.example_id,
                      "score": r.score, "output": r.output, "reason": r.reason} for r in stored[:rollouts]],
        "lm": store.call_stats(run.id),
        "objectives": objectives_of(versions),
    }


def objectives_of(versions: list[Any]) -> dict[str, Any]:
    """Each measured version's objectives (accuracy, prompt tokens, cost, latency per val rollout) and the
    objective frontier over them (optimize/objectives.py), from what the store holds: a paused run has them too."""
    points = {v.number: scores["objectives"] for v in versions
              if "objectives" in (scores := json.loads(v.scores_json))}
    return {"versions": {str(n): p for n, p in points.items()}, "frontier": objective_front(points)}


def playbook_at(store: Store, run_id: str, version: int | None = None) -> tuple[Playbook, int]:
    """A stored version's playbook; by default the run's final (latest accepted, else seed) version."""
    run = store.get_run(run_id)
    versions = store.versions(run.id)
    if version is None:
        accepted = [v for v in versions if v.status in ("accepted", "seed")]
        chosen = accepted[-1] if accepted else versions[0]
    else:
        matches = [v for v in versions if v.number == version]
        if not matches:
            from promptlearn.errors import StoreError

            raise StoreError(f"run {run.id} has no version {version} (versions: {[v.number for v in versions]})")
        chosen = matches[0]
    return Playbook.from_json(chosen.content_json), chosen.number


def provenance(store: Store, run_id: str, playbook: Playbook) -> dict[str, list[dict[str, Any]]]:
    """For each bullet, the critiques of the rollouts it cites as evidence."""
    by_rollout = {c.rollout_id: c for c in store.critiques(run_id)}
    out: dict[str, list[dict[str, Any]]] = {}
    for bullet in playbook.bullets:
        items = []
        for ref in bullet.source:
            if ref.startswith("r") and ref[1:].isdigit() and int(ref[1:]) in by_rollout:
                c = by_rollout[int(ref[1:])]
                items.append({"rollout": ref, "critique": c.critique, "failure_mode": c.failure_mode})
        out[bullet.id] = items
    return out
