"""`evaluate`: one system prompt on a dataset, every call and rollout stored, accuracy with a 95% interval."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from promptlearn.config import DEFAULT_TASK_MAX_TOKENS, DEFAULT_TASK_MODEL, ModelsConfig
from promptlearn.data import Dataset, Example, Scorer, default_scorer_for, load_dataset, make_scorer
from promptlearn.executor import Executor
from promptlearn.lm import LM, build_lm
from promptlearn.playbook import Playbook
from promptlearn.rollouts import OnResult, RolloutResult, RolloutRunner
from promptlearn.stats import Interval, majority_baseline, mean_ci
from promptlearn.store import Store


@dataclass(frozen=True)
class EvalResult:
    run_id: str | None
    results: list[RolloutResult]
    accuracy: Interval
    majority_label: str
    majority_accuracy: float
    answer_distribution: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            **self.accuracy.as_dict("accuracy"), "majority_label": self.majority_label,
            "majority_accuracy": self.majority_accuracy,
            "answers": self.answer_distribution,
        }


def summarize(results: Sequence[RolloutResult], run_id: str | None = None) -> EvalResult:
    label, share = majority_baseline([r.example.target for r in results]) if results else ("", 0.0)
    answers = Counter(r.parsed if r.parsed is not None else "(unparsed)" for r in results)
    return EvalResult(run_id, list(results), mean_ci([r.score for r in results]), label, share,
                      dict(answers.most_common()))


def as_dataset(dataset: Dataset | str, **columns: Any) -> Dataset:
    """`dataset` itself, or the dataset a path or name loads (with these column options)."""
    return dataset if isinstance(dataset, Dataset) else load_dataset(dataset, **columns)


def resolve_scorer(scorer: Scorer | str | dict | None, dataset: Dataset) -> Scorer:
    if scorer is None or scorer == "auto":
        return default_scorer_for(dataset)
    return make_scorer(scorer)


def evaluate(
    dataset: Dataset | str,
    system_prompt: str,
    model: str = DEFAULT_TASK_MODEL,
    scorer: Scorer | str | dict | None = "auto",
    *,
    lm: LM | None = None,
    store: Store | None = None,
    db: str | None = None,
    name: str = "eval",
    limit: int | None = None,
    max_tokens: int = DEFAULT_TASK_MAX_TOKENS,
    concurrency: int = ModelsConfig.model_fields["concurrency"].default,
    on_result: OnResult | None = None,
    executor: Executor | None = None,
    api_base: str | None = None,
) -> EvalResult:
    """Answer every example under `system_prompt`, score it, store it (run kind `eval`), and summarize.
    `executor` runs the rollouts (default: serial, or asyncio at `concurrency`); `api_base` sends a hosted model
    string (`openai/<name>`) to an OpenAI-compatible server."""
    data = as_dataset(dataset)
    examples: list[Example] = list(data.examples[:limit] if limit else data.examples)
    the_scorer = resolve_scorer(scorer, data)
    store = store or Store(db)
    config = {"dataset": data.source, "model": model, "scorer": getattr(the_scorer, "name", "custom"),
              "system_prompt": system_prompt, "limit": limit, "max_tokens": max_tokens}
    run_id = store.create_run("eval", name, config)
    store.save_examples(run_id, data.name, "eval", examples)
    seed = Playbook(seed_prompt=system_prompt)
    store.commit_version(run_id, 0, seed, status="seed")
    runner = RolloutRunner(build_lm(store, run_id, inner=lm, api_base=api_base), model, the_scorer, store, run_id,
                           concurrency, executor=executor, max_tokens=max_tokens)
    try:
        results = runner.run(system_prompt, examples, version=0, split="eval", on_result=on_result)
    except BaseException:
        store.finish_run(run_id, "stopped", {"rollouts": store.count_rollouts(run_id)})
        raise
    outcome = summarize(results, run_id)
    store.finish_run(run_id, "completed", outcome.summary())
    return outcome
