"""What one benchmark cell is run on (`BenchTask`) and what an arm hands back (`ArmResult`).

Every arm of a cell sees the same data splits (the ones promptlearn's own optimizer cuts from the config's seed),
the same scorer, the same models and the same store, so test scores pair example by example across arms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptlearn.config import ModelsConfig, RunConfig, validate
from promptlearn.data import Dataset, Scorer, Splits
from promptlearn.evaluate import EvalResult, evaluate
from promptlearn.executor import executor_for
from promptlearn.lm import LM
from promptlearn.optimize.setup import load_run_data
from promptlearn.store import Store


@dataclass(frozen=True)
class BenchTask:
    """A dataset with its seed prompt and split sizes, plus the models, seed and database of one run."""

    dataset: str
    system_prompt: str = "Answer the question."
    train: int = 30
    val: int = 30
    test: int = 50
    scorer: str = "auto"
    models: ModelsConfig = field(default_factory=ModelsConfig)
    seed: int = 0
    db: str | None = None
    promptlearn: dict[str, Any] = field(default_factory=dict)  # dotted overrides for promptlearn's arms
    reflection_max_tokens: int = 512
    label: str | None = None  # the task's name in tables ("clinc-banking"); default: from the dataset
    split_column: str | None = None  # keep the dataset's own train/val/test (see DatasetConfig.split_column)
    columns: dict[str, Any] = field(default_factory=dict)  # more DatasetConfig fields (id, metadata: tools, ...)

    @property
    def name(self) -> str:
        """The label if given; else `bbh:navigate` as given, a file by its stem."""
        if self.label:
            return self.label
        path = Path(self.dataset)
        return path.stem if path.suffix.lower() in (".jsonl", ".csv") else self.dataset

    def config(self, arm: str, budget: int, **overrides: Any) -> RunConfig:
        """The run config of a promptlearn arm: `budget` task-model rollouts for learning, test evaluation apart."""
        data = {
            "name": f"bench-{arm}-{self.name}", "system_prompt": self.system_prompt, "scorer": self.scorer,
            "dataset": {"path": self.dataset, "train": self.train, "val": self.val, "test": self.test,
                        "split_column": self.split_column, **self.columns},
            "models": self.models.model_dump(), "seed": self.seed,
            # The seed and the final prompt are each scored once on test; the loop holds room for both.
            "budget": {"max_rollouts": budget + 2 * self.test},
            # Ablation spends val rollouts the peer arms have no counterpart for: off, so budgets stay matched.
            "quality": {"ablation": "off"},
        }
        return validate(data, source=f"bench task {self.name}").with_overrides(**{**self.promptlearn, **overrides})

    def data(self) -> tuple[Dataset, Splits, Scorer]:
        return load_run_data(self.config("data", 1))

    def store(self) -> Store:
        return Store(self.db)


@dataclass
class ArmResult:
    """One arm on one task and seed. `rollouts` counts task-model calls spent learning (test scoring apart),
    including calls answered from the store's cache; `lm_seconds` counts only calls a model really answered."""

    arm: str
    task: str
    seed: int
    budget: int
    test: EvalResult
    prompt: str
    rollouts: int
    test_rollouts: int
    tokens: int
    lm_seconds: float
    wall_s: float
    calls: dict[str, int] = field(default_factory=dict)  # by role, test scoring included
    fresh_calls: int = 0  # calls a model answered (not the store): 0 means this run was replayed
    run_ids: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    # The version the arm would have returned after spending N learning rollouts, scored on test (N -> result):
    # the accuracy-vs-rollouts curve comes from checkpoints of the one run, not from separate runs.
    checkpoints: dict[int, EvalResult] = field(default_factory=dict)
    reflection_calls: int = 0  # judge, rewriter, GEPA's reflection, MIPROv2's proposer
    reflection_tokens: int = 0

    @property
    def overhead_s(self) -> float:
        """Wall time not spent waiting on a model: promptlearn's (or DSPy's) own machinery."""
        return max(0.0, self.wall_s - self.lm_seconds)

    def scores(self) -> dict[str, float]:
        return {r.example.id: r.score for r in self.test.results}


@dataclass
class TestScore:
    """promptlearn's `evaluate` of one prompt on the task's test split, with what it cost."""

    result: EvalResult
    tokens: int
    lm_seconds: float
    calls: int
    fresh_calls: int


def score_on_test(task: BenchTask, prompt: str, lm_inner: LM | None, label: str) -> TestScore:
    """Score a prompt on the test split with promptlearn's `evaluate` (plain system prompt + input messages)."""
    _dataset, splits, scorer = task.data()
    store = task.store()
    models = task.models
    result = evaluate(splits.test, prompt, models.task, scorer, lm=lm_inner, store=store,
                      name=f"bench-{label}-{task.name}", max_tokens=models.task_max_tokens,
                      concurrency=models.concurrency, executor=executor_for(models), api_base=models.api_base)
    run_id = result.run_id or ""
    tokens = 0
    for row in store.rollouts(run_id):
        reply = store.cached_completion(row.lm_call_key) if row.lm_call_key else None
        tokens += reply.usage.total if reply else 0
    fresh = store.call_stats(run_id)
    return TestScore(result, tokens, float(fresh["lm_seconds"]), len(result.results), int(fresh["calls"]))


class Clock:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started
