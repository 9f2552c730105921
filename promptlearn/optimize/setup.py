"""Everything a run needs, built from one config: data splits, scorer, store records and the metered LMs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from promptlearn.config import RunConfig, validate
from promptlearn.data import Dataset, Example, Scorer, Splits
from promptlearn.errors import ConfigError
from promptlearn.evaluate import as_dataset, resolve_scorer
from promptlearn.executor import executor_for
from promptlearn.lm import LM, RetryingLM, build_lm
from promptlearn.optimize.budget import Estimate, Meter, MeteredLM, estimate
from promptlearn.playbook import token_count
from promptlearn.rollouts import RolloutRunner
from promptlearn.store import Store


@dataclass
class Setup:
    config: RunConfig
    store: Store
    run_id: str
    dataset: Dataset
    splits: Splits
    scorer: Scorer
    inner: LM | None = None  # a FakeLM in tests; None means the real models
    meter: Meter = field(default_factory=Meter)
    _lm: LM | None = None

    def lm(self, role: str) -> LM:
        if self._lm is None:
            self._lm = build_lm(self.store, self.run_id, inner=self.inner, api_base=self.config.models.api_base)
        return MeteredLM(self._lm, self.meter, role)

    def faults(self) -> dict[str, Any]:
        """Provider faults the retry layer absorbed, for the run's record ({} before any call)."""
        layer = self._lm
        while layer is not None and not isinstance(layer, RetryingLM):
            layer = getattr(layer, "inner", None)
        return layer.stats.as_dict() if layer is not None else {}

    def unsplit_examples(self) -> list[Example]:
        """Examples in no split: drawn for the gate when a decision is close, never shown to the rewriter."""
        used = {e.id for part in (self.splits.train, self.splits.val, self.splits.test) for e in part.examples}
        return [e for e in self.dataset.examples if e.id not in used]

    def runner(self) -> RolloutRunner:
        models = self.config.models
        return RolloutRunner(self.lm("task"), models.task, self.scorer, self.store, self.run_id, models.concurrency,
                             confidence=self.config.quality.confidence,
                             confidence_mode=self.config.quality.confidence_mode,
                             executor=executor_for(models), max_tokens=models.task_max_tokens)


def load_run_data(config: RunConfig) -> tuple[Dataset, Splits, Scorer]:
    """A run's dataset, its seeded train / val / test splits and its scorer."""
    d = config.dataset
    metadata = [*d.metadata, *([d.split_column] if d.split_column and d.split_column not in d.metadata else [])]
    dataset = as_dataset(d.path, input=d.input, target=d.target, metadata=metadata or None, id=d.id,
                              limit=d.limit)
    dataset = dataset.with_targets(d.targets) if d.targets else dataset
    if d.split_column:
        splits = dataset.split_by_column(config.seed, d.split_column, d.train, d.val, d.test)
    else:
        splits = dataset.split(config.seed, d.train, d.val, d.test)
    if not len(splits.val) or not len(splits.test) or not len(splits.train):
        raise ConfigError(f"dataset {d.path}: train, val and test must each get at least one example")
    return dataset, splits, resolve_scorer(config.scorer, dataset)


def dry_run_estimate(config: RunConfig) -> Estimate:
    """Loads the data (so a broken dataset fails now) and bounds the calls, tokens and cost of the run."""
    _dataset, splits, _scorer = load_run_data(config)
    inputs = [e.input for e in splits.train.examples] or [""]
    avg_input = sum(token_count(t) for t in inputs) // len(inputs)
    prompt = token_count(config.system_prompt) + config.learn.playbook_max_tokens
    return estimate(config, len(splits.val), len(splits.test), prompt, avg_input)


def _save_splits(store: Store, run_id: str, dataset: Dataset, splits: Splits) -> None:
    for name in ("train", "val", "test"):
        store.save_examples(run_id, dataset.name, name, getattr(splits, name).examples)


def start(config: RunConfig, store: Store, inner: LM | None = None) -> Setup:
    dataset, splits, scorer = load_run_data(config)
    _check_rollout_budget(config, len(splits.val), len(splits.test))
    run_id = store.create_run("optimize", config.name, config.model_dump(mode="json"))
    _save_splits(store, run_id, dataset, splits)
    return Setup(config, store, run_id, dataset, splits, scorer, inner,
                 Meter(max_cost_usd=config.budget.max_cost_usd))


def _check_rollout_budget(config: RunConfig, val: int, test: int) -> None:
    """budget.max_rollouts charges test too: the seed is scored on val and test and the result on test before
    anything is learned. A budget below that would stop the run before its first iteration."""
    limit, needed = config.budget.max_rollouts, val + 2 * test
    if limit is not None and limit <= needed:
        raise ConfigError(f"budget.max_rollouts: {limit} task-model calls leave nothing to learn with: scoring the "
                          f"seed on val ({val}) and test ({test}) and the result on test ({test}) takes {needed}. "
                          f"Raise it above {needed}, or bound learning alone with budget.max_learning_rollouts "
                          "(test scoring is not charged to it)")


def resume(run_id: str, store: Store, inner: LM | None = None) -> Setup:
    """The stored config, data and seed: the loop then replays what is stored and continues."""
    row = store.get_run(run_id)
    if row.kind != "optimize":
        raise ConfigError(f"run {row.id} is a {row.kind} run; only optimize runs can be resumed")
    config = validate(json.loads(row.config_json), source=f"run {row.id}")
    dataset, splits, scorer = load_run_data(config)
    stored = {(e.example_id, e.split) for e in store.examples(row.id)}
    # A subset is fine: a crash can land between saving one split and the next (they are filled in below).
    if not stored <= {(e.id, name) for name in ("train", "val", "test") for e in getattr(splits, name).examples}:
        raise ConfigError(f"run {row.id}: its dataset {config.dataset.path} changed since the run started; "
                          "start a new run")
    _save_splits(store, row.id, dataset, splits)  # idempotent; a crash can land before start() saved them
    return Setup(config, store, row.id, dataset, splits, scorer, inner,
                 Meter(max_cost_usd=config.budget.max_cost_usd))
