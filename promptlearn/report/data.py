"""Everything a run report shows, gathered from the store into one JSON-able dict (no SQL here)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from promptlearn.history import objectives_of, playbook_at
from promptlearn.judging import trust_table
from promptlearn.playbook import Playbook
from promptlearn.stats import mean_ci
from promptlearn.store import Store
from promptlearn.store.quality import detail

MAX_TEXT = 4000  # characters kept of any stored text: a report stays small even for chatty models
MAX_USAGE_POINTS = 400


def gather(store: Store, run_id: str) -> dict[str, Any]:
    run = store.get_run(run_id)
    config, summary = json.loads(run.config_json), json.loads(run.summary_json)
    versions = store.versions(run.id)
    rollouts = store.rollouts(run.id)
    critiques = store.critiques(run.id)
    final_playbook, final_no = playbook_at(store, run.id) if versions else (None, 0)
    scores: dict[tuple[int, str], list[float]] = defaultdict(list)
    for r in rollouts:
        scores[(r.version_number, r.split)].append(r.score)
    gates = {g.version_number: _gate(g) for g in store.gate_decisions(run.id)}
    deltas: dict[int, list[Any]] = defaultdict(list)
    for d in store.deltas(run.id):
        deltas[d.version_number].append(d)
    return {
        "run": {"id": run.id, "kind": run.kind, "name": run.name, "status": run.status,
                "created": run.created_at.isoformat(timespec="seconds"), "stop_reason": summary.get("stop_reason", ""),
                "models": config.get("models", {}), "final_version": final_no,
                "final_bullets": len(final_playbook.bullets) if final_playbook else 0},
        "summary": {k: summary[k] for k in ("seed_test", "final_test", "test_diff", "seed_val", "final_val",
                                            "iterations", "rollouts") if k in summary},
        "series": _series(versions, scores, final_no, summary.get("iterations")),
        "timeline": _timeline(versions, deltas, gates, scores),
        "final_playbook": _playbook(final_playbook) if final_playbook else None,
        "evidence": _evidence(versions, deltas, rollouts, critiques, store.examples(run.id)),
        "examples": _examples(rollouts, store.examples(run.id), final_no),
        "trust": trust_table(critiques),
        "failure_modes": Counter(c.failure_mode or "other" for c in critiques
                                 if (c.code_verdict or c.verdict) == "fail").most_common(),
        "usage": _usage(store.call_usage(run.id), config.get("models", {})),
        "quality": _quality(store.quality(run.id), summary.get("learning", {})),
        "objectives": objectives_of(versions),
    }


def clip(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"... [{len(text) - MAX_TEXT} more characters]"


def _interval(values: Sequence[float]) -> dict[str, float] | None:
    return mean_ci(values).as_dict("mean") if values else None


def _gate(g: Any) -> dict[str, Any]:
    return {"baseline": g.baseline_number, "n": g.n, "diff": g.diff, "low": g.low, "high": g.high, "p": g.p_value,
            "accepted": g.accepted, "reason": clip(g.reason)}


def _series(versions: Sequence[Any], scores: dict[tuple[int, str], list[float]], final_no: int,
            iterations: int | None) -> dict[str, list[dict[str, Any]]]:
    """Per iteration: val of the version current after it, train of the version it learned from; test for the
    seed and the final version; and each candidate's val, accepted or not."""
    last = max([iterations or 0, *(v.iteration for v in versions)])
    accepted = sorted((v.iteration, v.number) for v in versions if v.status in ("seed", "accepted"))
    current = [max((num for it, num in accepted if it <= i), default=0) for i in range(last + 1)]
    val, train = [], []
    for i in range(last + 1):
        point = _interval(scores.get((current[i], "val"), []))
        if point:
            val.append({"x": i, "version": current[i], **point})
        point = _interval(scores.get((current[i - 1], "train"), [])) if i else None
        if point:
            train.append({"x": i, "version": current[i - 1], **point})
    test = []
    for x, number in [(0, 0), *([(last, final_no)] if final_no else [])]:
        if point := _interval(scores.get((number, "test"), [])):
            test.append({"x": x, "version": number, **point})
    candidates = [{"x": v.iteration, "version": v.number, "accepted": v.status == "accepted", **point}
                  for v in versions if v.number and (point := _interval(scores.get((v.number, "val"), [])))]
    return {"val": val, "train": train, "test": test, "candidates": candidates, "last": [{"x": last}]}


def _timeline(versions: Sequence[Any], deltas: dict[int, list[Any]], gates: dict[int, dict[str, Any]],
              scores: dict[tuple[int, str], list[float]]) -> list[dict[str, Any]]:
    out = []
    for v in versions:
        playbook = Playbook.from_json(v.content_json)
        rows = []
        for d in deltas.get(v.number, []):
            evidence = json.loads(d.evidence_json)
            bullet = _bullet_for(playbook, d.bullet_id, d.text, v.number)
            refs = list(dict.fromkeys([*evidence, *(bullet.source if bullet else [])]))
            rows.append({"op": d.op, "section": d.section, "bullet_id": d.bullet_id or (bullet.id if bullet else ""),
                           "text": clip(d.text), "reason": clip(d.reason), "applied": d.applied, "note": clip(d.note),
                           "refs": refs})
        out.append({"number": v.number, "parent": v.parent_number, "iteration": v.iteration, "status": v.status,
                    "note": clip(v.note), "gate": gates.get(v.number), "val": _interval(scores.get((v.number, "val"),
                                                                                                   [])),
                    "bullets": len(playbook.bullets), "deltas": rows})
    return out


def _bullet_for(playbook: Playbook, bullet_id: str | None, text: str, number: int) -> Any:
    if bullet_id:
        return playbook.get(bullet_id)
    return next((b for b in playbook.bullets if b.text == " ".join(text.split()) and b.created_version == number),
                None)


def _playbook(playbook: Playbook) -> dict[str, Any]:
    return {"seed_prompt": clip(playbook.seed_prompt),
            "bullets": [{"id": b.id, "section": b.section, "text": clip(b.text), "helpful": b.helpful,
                         "harmful": b.harmful, "refs": list(b.source), "version": b.created_version}
                        for b in playbook.bullets]}


def _refs(versions: Sequence[Any], deltas: dict[int, list[Any]]) -> set[int]:
    refs: set[str] = set()
    for v in versions:
        refs.update(b for bullet in Playbook.from_json(v.content_json).bullets for b in bullet.source)
        for d in deltas.get(v.number, []):
            refs.update(json.loads(d.evidence_json))
    return {int(r[1:]) for r in refs if r.startswith("r") and r[1:].isdigit()}


def _evidence(versions: Sequence[Any], deltas: dict[int, list[Any]], rollouts: Iterable[Any], critiques: Iterable[Any],
              examples: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The rollouts that bullets and deltas cite ("r12"), each with its example and critiques."""
    wanted = _refs(versions, deltas)
    by_example = {e.example_id: e for e in examples}
    by_rollout: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for c in critiques:
        if c.rollout_id in wanted:
            by_rollout[c.rollout_id].append({
                "judge": c.judge, "critique": clip(c.critique), "failure_mode": c.failure_mode,
                "suggested_rule": clip(c.suggested_rule), "verdict": c.verdict, "code_verdict": c.code_verdict,
                "confidence": c.confidence, "flags": c.flags})
    out = {}
    for r in rollouts:
        if r.id in wanted:
            example = by_example.get(r.example_id)
            out[f"r{r.id}"] = {"version": r.version_number, "split": r.split, "example": r.example_id,
                               "input": clip(example.input if example else ""),
                               "target": clip(example.target if example else ""), "output": clip(r.output),
                               "score": r.score, "reason": clip(r.reason), "critiques": by_rollout.get(r.id, [])}
    return out


def _examples(rollouts: Iterable[Any], examples: Iterable[Any], final_no: int) -> dict[str, Any]:
    """Per test example, seed against final: which the final version won and which it lost."""
    seed = {r.example_id: r for r in rollouts if r.split == "test" and r.version_number == 0 and r.sample == 0}
    final = {r.example_id: r for r in rollouts if r.split == "test" and r.version_number == final_no
             and r.sample == 0}
    by_example = {e.example_id: e for e in examples}
    wins: list[dict[str, Any]] = []
    losses: list[dict[str, Any]] = []
    same = 0
    for example_id, before in seed.items():
        after = final.get(example_id)
        if after is None or after.score == before.score:
            same += after is not None
            continue
        example = by_example.get(example_id)
        row = {"example": example_id, "input": clip(example.input if example else ""),
               "target": clip(example.target if example else ""), "seed_output": clip(before.output),
               "final_output": clip(after.output), "seed_score": before.score, "final_score": after.score}
        (wins if after.score > before.score else losses).append(row)
    return {"wins": wins, "losses": losses, "unchanged": same, "compared": final_no != 0}


DIFFICULTY_BUCKETS = ("never", "sometimes", "always", "unseen")
QUALITY_KINDS = ("difficulty", "credit", "calibration", "ood", "flag", "audit")
MAX_QUALITY_ROWS = 500  # per kind: the report stays small; the store keeps them all


def _quality(rows: Sequence[Any], learning: dict[str, Any]) -> dict[str, Any]:
    """Every learning-quality record of the run, by kind; a kind with no record is left out (and renders
    nothing). Difficulty becomes a histogram of buckets; the other kinds stay rows, their detail flattened."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        info = {k: clip(v) if isinstance(v, str) else v for k, v in detail(row).items()}
        by_kind[row.kind].append({**info, "kind": row.kind, "key": clip(row.key), "value": row.value,
                                  "version": row.version_number, "detail": clip(row.detail_json)})
    out: dict[str, Any] = {}
    if difficulty := by_kind.pop("difficulty", []):
        counts = Counter(str(r.get("bucket", "unseen")) for r in difficulty)
        out["difficulty"] = {"buckets": [(b, counts.get(b, 0)) for b in DIFFICULTY_BUCKETS], "n": len(difficulty),
                             "never": sorted(r["key"] for r in difficulty if r.get("bucket") == "never")[:50]}
    if credit := by_kind.pop("credit", []):
        out["credit"] = sorted(credit, key=lambda r: (r["version"] or 0, -(r["value"] or 0.0)))[:MAX_QUALITY_ROWS]
    for kind in QUALITY_KINDS[2:]:
        if by_kind.get(kind):
            out[kind] = [{**r, "disagreements": _listed(r.get("disagreements"))} if kind == "audit" else r
                         for r in by_kind.pop(kind)[:MAX_QUALITY_ROWS]]
    if by_kind:  # a kind this report does not know yet: shown as plain rows rather than dropped
        out["other"] = [r for kind in sorted(by_kind) for r in by_kind[kind][:MAX_QUALITY_ROWS]]
    # Why an ablation is missing (the budget could not cover it): said where its credit table would be.
    notes = learning.get("ablation", {}).get("notes", []) if isinstance(learning, dict) else []
    if notes:
        out["notes"] = [clip(str(n)) for n in notes]
    return out


def _listed(value: Any) -> str:
    """Disagreements may be stored as a count or as the ids of the examples the judges disagreed on."""
    if isinstance(value, list | tuple):
        return clip(f"{len(value)}: {', '.join(str(v) for v in value)}" if value else "0")
    return "" if value is None else clip(str(value))


def _usage(calls: Sequence[dict[str, Any]], models: dict[str, Any]) -> dict[str, Any]:
    """Cumulative tokens and cost in call order, and totals per model (labelled with its role)."""
    roles: dict[str, list[str]] = defaultdict(list)
    for role in ("task", "judge", "rewriter"):
        if isinstance(models.get(role), str):
            roles[models[role]].append(role)
    points: list[dict[str, float]] = []
    by_model: dict[str, dict[str, float]] = {}
    tokens = cost = 0.0
    step = max(1, len(calls) // MAX_USAGE_POINTS)
    for index, call in enumerate(calls, 1):
        used = (call["prompt_tokens"] or 0) + (call["completion_tokens"] or 0)
        tokens += used
        cost += call["cost_usd"] or 0.0
        label = f"{call['model']} ({', '.join(roles[call['model']])})" if roles.get(call["model"]) else call["model"]
        row = by_model.setdefault(label, {"calls": 0, "tokens": 0, "cost_usd": 0.0, "lm_seconds": 0.0, "errors": 0})
        row["calls"] += 1
        row["tokens"] += used
        row["cost_usd"] += call["cost_usd"] or 0.0
        row["lm_seconds"] += call["latency_s"] or 0.0
        row["errors"] += bool(call["error"])
        if index % step == 0 or index == len(calls):
            points.append({"x": index, "tokens": tokens, "cost": cost})
    return {"points": points, "by_model": by_model, "calls": len(calls), "tokens": tokens, "cost_usd": cost}
