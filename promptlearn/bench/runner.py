"""`run_bench`: every arm on every task, seed and budget; then one JSON, one Markdown table and the plots.

Arms of one (task, seed) share the test split, so their scores pair example by example: the interval of each
arm's accuracy and of its paired difference from the seed prompt and from GEPA pool all seeds.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from promptlearn.bench import peer_cache
from promptlearn.bench.arms import ARMS, DEFAULT_ARMS, loop_arm_stored
from promptlearn.bench.ledger import with_recorded_cost
from promptlearn.bench.report import PEERS, markdown, write_plots
from promptlearn.bench.task import ArmResult, BenchTask
from promptlearn.config import ModelsConfig
from promptlearn.data.scorers.tool_calls import kind_of
from promptlearn.errors import ConfigError
from promptlearn.lm import LM
from promptlearn.playbook import token_count
from promptlearn.stats import mean, mean_ci, paired_bootstrap

RESULTS_DIR = Path("benchmarks") / "results"
OnResult = Callable[[ArmResult], None]


def run_bench(tasks: Sequence[BenchTask], arms: Sequence[str] = DEFAULT_ARMS, seeds: Sequence[int] = (0,),
              budget: int | Sequence[int] = 150, models: ModelsConfig | None = None, out_name: str = "peers", *,
              lm_inner: LM | None = None, out_dir: str | Path = RESULTS_DIR,
              on_result: OnResult | None = None, peer_cache: str | Path | None = None,
              stored_only: bool = False) -> dict[str, Any]:
    """Run the arms (the seed arm always: it is the baseline), write `<out_dir>/<out_name>.json|.md` and plots,
    and return the JSON's content. `lm_inner` replaces the real models (a FakeLM in tests). With `peer_cache`, the
    peers' results are read from (and written to) that folder while their fingerprint matches (`peer_cache.py`).
    `stored_only`: report the cells already run (a peer in the cache, a promptlearn run in the store) and skip the
    rest, to write the table while a long benchmark is still going."""
    budgets = [budget] if isinstance(budget, int) else list(budget)
    unknown = [a for a in arms if a not in ARMS]
    if unknown or not tasks or not seeds or not budgets or min(budgets) < 1:
        raise ConfigError(f"bench: give tasks, seeds and budgets >= 1, and arms from {', '.join(ARMS)}"
                          + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    chosen = ["seed"] + [a for a in ARMS if a in arms and a != "seed"]
    runs: list[ArmResult] = []
    for base in tasks:
        for seed in seeds:
            task = replace(base, seed=seed, models=models or base.models)
            cache = Path(peer_cache) if peer_cache is not None else None
            runs.append(_run("seed", task, 0, lm_inner, on_result, cache))
            for b in budgets:
                runs.extend(_run(arm, task, b, lm_inner, on_result, cache) for arm in chosen[1:]
                            if not stored_only or _stored(arm, task, b, cache))
    data = assemble(runs, chosen, budgets, list(seeds), models or tasks[0].models, out_name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{out_name}.json").write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    (out / f"{out_name}.md").write_text(markdown(data), encoding="utf-8")
    data["plots"] = [str(p) for p in write_plots(data, out, out_name)]
    return data


def _stored(arm: str, task: BenchTask, budget: int, cache: Path | None) -> bool:
    if arm in peer_cache.PEER_ARMS:
        return cache is not None and peer_cache.load(cache, task, arm, budget) is not None
    return loop_arm_stored(task, arm, budget)


def _run(arm: str, task: BenchTask, budget: int, lm_inner: LM | None, on_result: OnResult | None,
         cache: Path | None) -> ArmResult:
    reused = peer_cache.load(cache, task, arm, budget) if cache and arm in peer_cache.PEER_ARMS else None
    result = reused or with_recorded_cost(task.store(), task, ARMS[arm](task, budget, lm_inner))
    if cache and arm in peer_cache.PEER_ARMS and reused is None:
        peer_cache.save(cache, task, result)
    if on_result:
        on_result(result)
    return result


def _paired(base: dict[Any, float], arm: dict[Any, float]) -> dict[str, Any] | None:
    keys = sorted(k for k in arm if k in base)
    if not keys:
        return None
    return paired_bootstrap([base[k] for k in keys], [arm[k] for k in keys]).as_dict()


def _scores(runs: Sequence[ArmResult]) -> dict[tuple[int, str], float]:
    return {(r.seed, eid): s for r in runs for eid, s in r.scores().items()}


def summarize_cell(cell: Sequence[ArmResult], seed_runs: Sequence[ArmResult],
                   peer_runs: Mapping[str, Sequence[ArmResult]]) -> dict[str, Any]:
    scores = _scores(cell)
    acc = mean_ci([scores[k] for k in sorted(scores)])
    first = cell[0]
    answers: dict[str, int] = {}
    for r in cell:
        for label, count in r.test.answer_distribution.items():
            answers[label] = answers.get(label, 0) + count
    return {
        "task": first.task, "arm": first.arm, "budget": first.budget, "seeds": [r.seed for r in cell],
        "accuracy": acc.estimate, "low": acc.low, "high": acc.high, "n": acc.n,
        "diff_vs_seed": _paired(_scores(seed_runs), scores) if first.arm != "seed" else None,
        **{f"diff_vs_{peer}": _paired(_scores(runs), scores) if runs and first.arm != peer else None
           for peer, runs in peer_runs.items()},
        "rollouts": mean([r.rollouts for r in cell]), "test_rollouts": mean([r.test_rollouts for r in cell]),
        "tokens": mean([r.tokens for r in cell]), "lm_seconds": mean([r.lm_seconds for r in cell]),
        "wall_s": mean([r.wall_s for r in cell]), "overhead_s": mean([r.overhead_s for r in cell]),
        "playbook_tokens": mean([token_count(r.prompt) for r in cell]),
        "majority_accuracy": mean([r.test.majority_accuracy for r in cell]), "answers": answers,
        "unparsed_share": answers.get("(unparsed)", 0) / max(1, sum(answers.values())),
        "reflection_calls": mean([r.reflection_calls for r in cell]),
        "reflection_tokens": mean([r.reflection_tokens for r in cell]),
        "checkpoints": _checkpoints(cell),
        **_error_kinds(cell),
    }


def _error_kinds(cell: Sequence[ArmResult]) -> dict[str, Any]:
    """For tool calls (the bfcl scorer): how many test answers failed with each kind of error; nothing for
    tasks whose reasons name no kind, so their rows are as they were."""
    kinds = Counter(kind for r in cell for res in r.test.results if res.score < 1.0
                    for kind in [kind_of(res.reason)] if kind is not None)
    return {"error_kinds": dict(kinds.most_common())} if kinds else {}


def _checkpoints(cell: Sequence[ArmResult]) -> list[dict[str, Any]]:
    """Test accuracy of the version each run would have returned after N learning rollouts, pooled over seeds."""
    points = sorted({n for r in cell for n in r.checkpoints})
    out = []
    for n in points:
        scores = [res.score for r in cell if n in r.checkpoints for res in r.checkpoints[n].results]
        acc = mean_ci(scores)
        out.append({"rollouts": n, "accuracy": acc.estimate, "low": acc.low, "high": acc.high, "n": acc.n})
    return out


def run_record(r: ArmResult) -> dict[str, Any]:
    return {"task": r.task, "arm": r.arm, "seed": r.seed, "budget": r.budget, "accuracy": r.test.accuracy.estimate,
            "rollouts": r.rollouts, "test_rollouts": r.test_rollouts, "tokens": r.tokens, "lm_seconds": r.lm_seconds,
            "wall_s": r.wall_s, "overhead_s": r.overhead_s, "playbook_tokens": token_count(r.prompt),
            "calls": r.calls, "prompt": r.prompt, "run_ids": r.run_ids, "notes": r.notes,
            "reflection_calls": r.reflection_calls, "reflection_tokens": r.reflection_tokens,
            "checkpoints": {str(n): e.accuracy.estimate for n, e in sorted(r.checkpoints.items())}}


def assemble(runs: Sequence[ArmResult], arms: Sequence[str], budgets: Sequence[int], seeds: Sequence[int],
             models: ModelsConfig, name: str) -> dict[str, Any]:
    tasks = list(dict.fromkeys(r.task for r in runs))
    rows = []
    for task in tasks:
        seed_runs = [r for r in runs if r.task == task and r.arm == "seed"]
        rows.append(summarize_cell(seed_runs, seed_runs, {peer: [] for peer in PEERS}))
        for b in budgets:
            peers = {peer: [r for r in runs if r.task == task and r.arm == peer and r.budget == b] for peer in PEERS}
            for arm in arms[1:]:
                cell = [r for r in runs if r.task == task and r.arm == arm and r.budget == b]
                if cell:  # an arm not run for this task (stored_only) has no row; the table says "not run"
                    rows.append(summarize_cell(cell, seed_runs, peers))
    pooled = pooled_rows(runs, arms, budgets)
    points = [{"task": r.task, "arm": r.arm, "seed": r.seed, "budget": r.budget, "rollouts": r.rollouts,
               "accuracy": r.test.accuracy.estimate} for r in runs]
    points += [{"task": r.task, "arm": r.arm, "seed": r.seed, "budget": r.budget, "rollouts": n,
                "accuracy": e.accuracy.estimate, "checkpoint": True} for r in runs for n, e in r.checkpoints.items()]
    return {"name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "models": models.model_dump(),
            "tasks": tasks, "arms": list(arms), "seeds": list(seeds), "budgets": list(budgets), "results": rows,
            "points": points, "pooled": pooled, "runs": [run_record(r) for r in runs]}


def pooled_rows(runs: Sequence[ArmResult], arms: Sequence[str], budgets: Sequence[int]) -> list[dict[str, Any]]:
    """Per arm and budget, over every task it ran: the mean of the tasks' test accuracies, and the paired
    difference against the seed and against each peer pooled over all their test examples (task, seed, example)."""
    def keyed(rs: Sequence[ArmResult]) -> dict[tuple[str, int, str], float]:
        return {(r.task, r.seed, eid): s for r in rs for eid, s in r.scores().items()}

    seed = keyed([r for r in runs if r.arm == "seed"])
    out = []
    for b in budgets:
        peers = {peer: keyed([r for r in runs if r.arm == peer and r.budget == b]) for peer in PEERS}
        for arm in arms[1:]:
            cell = [r for r in runs if r.arm == arm and r.budget == b]
            if not cell:
                continue
            tasks = sorted({r.task for r in cell})
            mean_accuracy = mean([mean([r.test.accuracy.estimate for r in cell if r.task == t]) for t in tasks])
            mine = keyed(cell)
            out.append({"arm": arm, "budget": b, "tasks": tasks, "mean_accuracy": mean_accuracy,
                        "diff_vs_seed": _paired(seed, mine),
                        **{f"diff_vs_{peer}": _paired(theirs, mine) if arm != peer and theirs else None
                           for peer, theirs in peers.items()}})
    return out
