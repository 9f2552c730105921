"""What each arm's learning cost, kept in the store, so a rerun served from the store reports the same costs.

A rerun of a benchmark (to redo the table, or after a crash) replays finished cells from the store in seconds
and without any LM call; its own tokens and timings would say nothing about the method. So the cost of a cell
that a model really ran is recorded (a `bench` run named `cost-...`), and a replay (no fresh call) reports it.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from typing import Any

from promptlearn.bench.task import ArmResult, BenchTask
from promptlearn.store import Store

# What a replay cannot observe: it makes no call, and reads the judge's critiques from the store without asking.
# BenchTask fields added after costs were first recorded, with the default that leaves a cell as it was.
ADDED_LATER: dict[str, Any] = {"columns": {}}
COST_FIELDS = ("tokens", "lm_seconds", "wall_s", "reflection_calls", "reflection_tokens")


def cell_key(task: BenchTask, arm: str, budget: int) -> dict[str, Any]:
    # A field added to BenchTask later is left out while it holds its default, so the costs recorded before it
    # existed still belong to the same cell.
    described = {f.name: getattr(task, f.name) for f in fields(task)
                 if f.name != "db" and not (f.name in ADDED_LATER and getattr(task, f.name) == ADDED_LATER[f.name])}
    described["models"] = task.models.model_dump()
    return {"cost_of": arm, "budget": budget, "task": described}


def with_recorded_cost(store: Store, task: BenchTask, result: ArmResult) -> ArmResult:
    """Record a fresh cell's cost; give a replayed cell (no fresh LM call) the cost recorded when it ran."""
    key = cell_key(task, result.arm, result.budget)
    wanted = json.dumps(key, sort_keys=True)
    rows = [r for r in store.list_runs(limit=100_000) if r.kind == "bench" and r.config_json == wanted]
    recorded = json.loads(rows[0].summary_json) if rows else {}
    # A finished run read from the store (arms.finished_result) takes the cost recorded for its cell only if it was
    # recorded for this very run: the cell may have been run again since, the old run set aside. (Costs recorded
    # before run ids were kept are trusted: a resumed run's stored spend counts only its last stretch.)
    recorded_for = recorded.get("run_ids")
    same = not result.notes.get("read_from_store") or recorded_for is None or recorded_for == list(result.run_ids)
    if result.fresh_calls == 0 and same and any(f in recorded for f in COST_FIELDS):
        notes = {**result.notes, "replayed": True, "replay_wall_s": result.wall_s}
        return replace(result, notes=notes, **{f: recorded[f] for f in COST_FIELDS if f in recorded})
    run_id = rows[0].id if rows else store.create_run("bench", f"cost-{result.arm}-{result.task}", key)
    store.finish_run(run_id, "completed", {**{f: getattr(result, f) for f in COST_FIELDS},
                                           "run_ids": list(result.run_ids)})
    return result
