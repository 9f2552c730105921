"""Capability cliffs: a playbook tuned on one task can quietly break another. A fixed out-of-domain check set is
scored for the seed and for every accepted version, and a drop beyond noise is flagged (or, with
`quality.ood_block`, the candidate is rejected before it is accepted).

The check set's rollouts are stored under split `ood` like any evaluation, so a resumed run reuses them, and
they count against the rollout budget.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from promptlearn.data import Example, Scorer
from promptlearn.evaluate import as_dataset, resolve_scorer
from promptlearn.playbook import Playbook
from promptlearn.quality.records import record_once
from promptlearn.rollouts import RolloutResult, RolloutRunner
from promptlearn.seeding import stream_seed
from promptlearn.stats import mean, paired_bootstrap, two_sided
from promptlearn.store import Store
from promptlearn.store.quality import detail

SPLIT = "ood"
# Stored rollouts are keyed by (version, example id); the prefix keeps the check set's ids apart from the task's.
ID_PREFIX = "ood:"

Evaluate = Callable[..., list[RolloutResult]]
Emit = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class OodSet:
    dataset: str
    examples: tuple[Example, ...]
    scorer: Scorer


def load_ood(path: str, n: int, seed: int) -> OodSet:
    """`n` examples of `path` (a file or `bbh:<task>`), drawn by the run's seed; the scorer is chosen from the
    check set's own targets (`auto`), since the run's scorer belongs to the run's task."""
    data = as_dataset(path)
    sample = data.sample(min(n, len(data)), seed)
    examples = tuple(replace(e, id=f"{ID_PREFIX}{e.id}") for e in sample.examples)
    return OodSet(path, examples, resolve_scorer("auto", data))


@dataclass(frozen=True)
class CliffResult:
    version: int
    accuracy: float
    diff: float  # version minus seed, same examples
    low: float
    high: float
    n: int
    flagged: bool

    def describe(self, dataset: str) -> str:
        return (f"out-of-domain accuracy on {dataset} dropped {self.diff:+.3f} vs the seed "
                f"(interval [{self.low:+.3f}, {self.high:+.3f}], n={self.n})")


class CliffCheck:
    def __init__(self, ood: OodSet, runner: RolloutRunner, evaluate: Evaluate, store: Store, run_id: str,
                 emit: Emit, confidence: float, seed: int):
        self.ood, self.evaluate, self.store, self.run_id, self.emit = ood, evaluate, store, run_id, emit
        # The same task model and settings as the run, scored with the check set's scorer.
        self.runner = copy.copy(runner)
        self.runner.scorer = ood.scorer
        self.confidence, self.seed = confidence, seed
        self.scores: dict[int, list[float]] = {}
        self.results: dict[int, CliffResult] = {}

    def _score(self, playbook: Playbook, number: int) -> list[float]:
        if number not in self.scores:  # each version is scored (and charged to the budget) once
            results = self.evaluate(playbook, number, self.ood.examples, SPLIT, runner=self.runner)
            self.scores[number] = [r.score for r in results]
        return self.scores[number]

    def baseline(self, seed: Playbook) -> None:
        scores = self._score(seed, 0)
        record_once(self.store, self.run_id, "ood", "accuracy", mean(scores), 0, dataset=self.ood.dataset,
                    n=len(scores), low=None, high=None, diff=0.0, flagged=False)

    def check(self, playbook: Playbook, number: int) -> CliffResult:
        """Score `number` on the check set and compare it with the seed (a paired bootstrap at the gate's one-sided
        level): flagged when the upper bound of the difference is below zero."""
        if number in self.results:
            return self.results[number]
        base, scores = self.scores[0], self._score(playbook, number)
        paired = paired_bootstrap(base, scores, confidence=two_sided(self.confidence),
                                  seed=stream_seed(self.seed, "gate", number))
        result = CliffResult(number, mean(scores), paired.diff, paired.low, paired.high, paired.n, paired.high < 0)
        record_once(self.store, self.run_id, "ood", "accuracy", result.accuracy, number, dataset=self.ood.dataset,
                    n=result.n, low=result.low, high=result.high, diff=result.diff, flagged=result.flagged)
        self.emit("ood", {"version": number, "accuracy": result.accuracy, "diff": result.diff,
                          "flagged": result.flagged})
        if result.flagged:
            self.emit("ood_cliff", {"version": number, "dataset": self.ood.dataset, "diff": result.diff,
                                    "low": result.low, "high": result.high})
            self.emit("note", {"text": f"v{number}: capability cliff: {result.describe(self.ood.dataset)}"})
        self.results[number] = result
        return result

    def block_reason(self, playbook: Playbook, number: int) -> str | None:
        """With `quality.ood_block`: why a candidate the gate accepted is rejected (its check-set accuracy
        dropped), or None."""
        result = self.check(playbook, number)
        return f"rejected: {result.describe(self.ood.dataset)}" if result.flagged else None


def ood_summary(store: Store, run_id: str, final_version: int) -> dict[str, Any]:
    """The stored check-set scores: the seed's, each checked version's, and which ones fell off a cliff."""
    rows = store.quality(run_id, "ood")
    if not rows:
        return {}
    versions = {row.version_number: {"accuracy": row.value, **detail(row)} for row in rows}
    first = next(iter(versions.values()))
    return {
        "dataset": first.get("dataset"), "n": first.get("n"),
        "seed": versions.get(0, {}).get("accuracy"),
        "final": versions.get(final_version), "final_version": final_version,
        "flagged_versions": [v for v, d in versions.items() if d.get("flagged")],
        "versions": {str(v): {k: d.get(k) for k in ("accuracy", "diff", "low", "high", "flagged")}
                     for v, d in versions.items()},
    }
