"""The six arms of the peer benchmark, each `(task, budget, lm_inner) -> ArmResult`.

- `seed`: the seed prompt, scored on test (no learning).
- `promptlearn`: promptlearn's default loop (playbook deltas, explanatory judge, statistical gate).
- `gepa`, `miprov2`: DSPy's optimizers, run for real through our LM seam (see `peers`).
- `full_rewrite`: the whole prompt rewritten each iteration, ungated (the published Arize recipe).
- `add_only`: ACE-style additions only, ungated.
- `no_examples`, `no_screen`, `no_judge` / `judge`, `no_extension`, `rules_first`: promptlearn with one mechanism
  off (worked examples; screening and merge; the close-call extension; worked examples validated first) or the
  judge's critiques off / on, for the table of what each mechanism bought. Not in the presets'
  default arms.

`budget` is the number of task-model calls an arm may spend learning; scoring the seed and the final prompt on
the test split is counted apart (`test_rollouts`), the same for every arm.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from promptlearn.bench.peers import CHECKPOINTS, gepa_arm, miprov2_arm
from promptlearn.bench.task import ArmResult, BenchTask, Clock, score_on_test
from promptlearn.config import RunConfig, validate
from promptlearn.errors import ConfigError
from promptlearn.evaluate import EvalResult, summarize
from promptlearn.lm import LM
from promptlearn.optimize import OptimizeResult, optimize
from promptlearn.optimize.result import seed_to_final_difference
from promptlearn.playbook import Playbook
from promptlearn.rollouts import RolloutResult
from promptlearn.store import Store

Arm = Callable[[BenchTask, int, LM | None], ArmResult]


def seed_arm(task: BenchTask, budget: int, lm_inner: LM | None) -> ArmResult:
    clock = Clock()
    test = score_on_test(task, task.system_prompt, lm_inner, "seed")
    return ArmResult(arm="seed", task=task.name, seed=task.seed, budget=budget, test=test.result,
                     prompt=task.system_prompt, rollouts=0, test_rollouts=test.calls, tokens=test.tokens,
                     lm_seconds=test.lm_seconds, wall_s=clock.elapsed(), calls={"test": test.calls},
                     fresh_calls=test.fresh_calls, run_ids=[test.result.run_id or ""])


def _promptlearn(arm: str, task: BenchTask, budget: int, lm_inner: LM | None, **overrides: Any) -> ArmResult:
    clock = Clock()
    config = task.config(arm, budget, **overrides)
    store = task.store()
    previous = stored_run(store, config)
    finished = store.get_run(previous) if previous else None
    if finished is not None and finished.status == "completed":
        # Read, never re-run: replaying a finished run with code that asks other questions (a changed prompt)
        # would make new model calls and could add versions to a run that already ended.
        result = finished_result(task, store, finished.id)
        wall_s = (finished.updated_at - finished.created_at).total_seconds()  # what the run took when it ran
        scored = from_optimize(arm, task, budget, result, wall_s)
        scored.notes["read_from_store"] = True
    else:
        result = optimize(None if previous else config, resume=previous, store=store, lm=lm_inner)
        scored = from_optimize(arm, task, budget, result, clock.elapsed())
    scored.checkpoints = score_checkpoints(task, store, result, lm_inner, arm,
                                           tuple(n for n in CHECKPOINTS if n < budget))
    return scored


def finished_result(task: BenchTask, store: Store, run_id: str) -> OptimizeResult:
    """A completed run's result as it stored it: its summary, its versions and its test rollouts."""
    summary = json.loads(store.get_run(run_id).summary_json)
    _dataset, splits, _scorer = task.data()
    examples = {e.id: e for e in splits.test.examples}

    def test_of(version: int) -> EvalResult:
        rows = sorted(store.rollouts(run_id, version, "test"), key=lambda r: r.id or 0)
        return summarize([RolloutResult(examples[r.example_id], r.output, r.score, r.reason, r.parsed,
                                        rollout_id=r.id) for r in rows], run_id)

    final_no = int(summary["final_version"])
    seed_row, final_row = store.get_version(run_id, 0), store.get_version(run_id, final_no)
    assert seed_row is not None and final_row is not None
    seed_test, final_test = test_of(0), test_of(final_no)
    return OptimizeResult(
        run_id=run_id, stop_reason=summary["stop_reason"], seed=Playbook.from_json(seed_row.content_json),
        final=Playbook.from_json(final_row.content_json), final_version=final_no, seed_test=seed_test,
        final_test=final_test, seed_val=summary["seed_val"], final_val=summary["final_val"],
        test_diff=seed_to_final_difference([r.score for r in seed_test.results], [r.score for r in final_test.results]),
        iterations=summary["iterations"], rollouts=summary["rollouts"],
        # The calls, tokens and model seconds the run recorded when it was made (nothing is called now).
        spend={role: {**spent, "fresh_calls": 0} for role, spent in summary["spend"].items()})


def checkpoint_versions(store: Store, run_id: str, points: Sequence[int] = CHECKPOINTS) -> dict[int, int]:
    """The version the loop would have returned after N learning rollouts (train and val, test apart): the last
    version accepted by then. A version counts as accepted once all its validation rollouts are spent."""
    rows = sorted(store.rollouts(run_id), key=lambda r: r.id or 0)
    accepted = {v.number for v in store.versions(run_id) if v.status == "accepted"}
    spent, accepted_at = 0, {0: 0}
    for row in rows:
        if row.split == "test":
            continue
        spent += 1
        if row.version_number in accepted and row.split.startswith("val"):
            accepted_at[row.version_number] = spent
    return {n: max((v for v, at in accepted_at.items() if at <= n), key=lambda v: accepted_at[v]) for n in points}


def score_checkpoints(task: BenchTask, store: Store, result: OptimizeResult, lm_inner: LM | None,
                      arm: str, points: Sequence[int]) -> dict[int, EvalResult]:
    out = {}
    for n, version in checkpoint_versions(store, result.run_id, points).items():
        if version == result.final_version:
            out[n] = result.final_test
        elif version == 0:
            out[n] = result.seed_test
        else:
            row = store.get_version(result.run_id, version)
            assert row is not None
            prompt = Playbook.from_json(row.content_json).render()
            out[n] = score_on_test(task, prompt, lm_inner, f"{arm}-at{n}").result
    return out


# The published recipes learn from an LLM critic's feedback (Arize's explanations, ACE's reflector): the judge's
# critiques stay on for them whatever the task's loop settings say; `no_examples` ran with them too.
LOOP_OVERRIDES: dict[str, dict[str, Any]] = {
    "promptlearn": {},
    "full_rewrite": {"learn.mode": "full_rewrite", "gate.method": "none", "learn.explain": True},
    "add_only": {"learn.mode": "add_only", "gate.method": "none", "learn.explain": True},
    "no_examples": {"learn.worked_examples": 0, "learn.explain": True},
    "no_screen": {"learn.screen": False, "learn.merge": False},
    "no_judge": {"learn.explain": False}, "judge": {"learn.explain": True},
    # Two defaults since 0eab31d, each off: close calls decided on val alone; worked examples screened like rules.
    "no_extension": {"gate.extra_examples": 0}, "rules_first": {"learn.examples_first": False},
}


def loop_arm_stored(task: BenchTask, arm: str, budget: int) -> bool:
    """Whether this loop arm's run is finished in the task's store (so reporting it makes no model call)."""
    if arm not in LOOP_OVERRIDES:
        return False
    store = task.store()
    run_id = stored_run(store, task.config(arm, budget, **LOOP_OVERRIDES[arm]))
    return run_id is not None and store.get_run(run_id).status == "completed"


def stored_run(store: Store, config: RunConfig) -> str | None:
    """The newest optimize run of this exact config: resuming it replays what is stored (a finished run makes
    no LM call; a stopped one goes on), where a new run would ask the rewriter about new rollout ids. A run stored
    before a config field was added is the same config when it validates to this one (the new field's default
    leaves the run's behaviour as it was)."""
    wanted = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    for run in store.list_runs(limit=100_000):
        if run.kind == "optimize" and run.name == config.name and (
                run.config_json == wanted or _validates_to(run.config_json, config)):
            return run.id
    return None


def _validates_to(stored: str, config: RunConfig) -> bool:
    try:
        return validate(json.loads(stored), source="stored run") == config
    except ConfigError:
        return False


def from_optimize(arm: str, task: BenchTask, budget: int, result: OptimizeResult, wall_s: float) -> ArmResult:
    test_rollouts = len(result.seed_test.results) * (1 if result.final_version == 0 else 2)
    calls = {role: int(s["calls"]) for role, s in result.spend.items()}
    calls["test"] = test_rollouts
    reflection = [s for role, s in result.spend.items() if role != "task"]
    return ArmResult(
        arm=arm, task=task.name, seed=task.seed, budget=budget, test=result.final_test, prompt=result.prompt,
        reflection_calls=int(sum(s["calls"] for s in reflection)),
        reflection_tokens=int(sum(s["tokens"] for s in reflection)),
        rollouts=result.rollouts - test_rollouts, test_rollouts=test_rollouts,
        tokens=int(sum(s["tokens"] for s in result.spend.values())),
        lm_seconds=sum(s["lm_seconds"] for s in result.spend.values()), wall_s=wall_s, calls=calls,
        fresh_calls=int(sum(s["fresh_calls"] for s in result.spend.values())), run_ids=[result.run_id],
        notes={"stop_reason": result.stop_reason, "final_version": result.final_version,
               "iterations": result.iterations, "bullets": len(result.final.bullets),
               "bullet_tokens": result.final.bullet_tokens()})


def promptlearn_arm(task: BenchTask, budget: int, lm_inner: LM | None) -> ArmResult:
    return _promptlearn("promptlearn", task, budget, lm_inner)


def _mechanism_off(name: str) -> Arm:
    """promptlearn with the overrides of LOOP_OVERRIDES[name]: one mechanism off (or a published recipe: the
    whole prompt rewritten, or rules only added, both ungated), for the ablation table."""
    return lambda task, budget, lm_inner: _promptlearn(name, task, budget, lm_inner, **LOOP_OVERRIDES[name])


ARMS: dict[str, Arm] = {
    "seed": seed_arm,
    "promptlearn": promptlearn_arm,
    "gepa": gepa_arm,
    "miprov2": miprov2_arm,
    **{name: _mechanism_off(name) for name in LOOP_OVERRIDES if name != "promptlearn"},
}
# What a preset runs unless told otherwise: the seed, promptlearn, the two peers and the two published recipes.
DEFAULT_ARMS = ("seed", "promptlearn", "gepa", "miprov2", "full_rewrite", "add_only")

__all__ = ["ARMS", "DEFAULT_ARMS", "Arm", "gepa_arm", "miprov2_arm", "promptlearn_arm", "seed_arm"]
