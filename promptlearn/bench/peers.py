"""The peers, run for real: DSPy's GEPA and MIPROv2 on `dspy.Predict("input -> answer")`, through our seam.

The program's instructions start as the task's seed prompt; the metric is promptlearn's scorer (GEPA also gets
its reason as feedback text); the optimized instructions are then scored by promptlearn's `evaluate` on the same
test split as every other arm. Task-model calls are counted at the seam and stop at the rollout budget.
"""

from __future__ import annotations

import math
from typing import Any

from promptlearn.bench.seam import SeamEngine, dspy_lm
from promptlearn.bench.task import ArmResult, BenchTask, Clock, score_on_test
from promptlearn.data import Example, Scorer
from promptlearn.errors import ConfigError
from promptlearn.lm import LM, build_lm
from promptlearn.optimize.budget import Meter
from promptlearn.rollouts import safe_score

# MIPROv2's "light" setting, instructions only: 6 candidates, 9 trials (what auto="light" picks for one predictor).
MIPRO_LIGHT_CANDIDATES, MIPRO_LIGHT_TRIALS = 6, 9
BOOTSTRAP_PEEK = 12  # expected train examples MIPROv2's demo bootstrapping runs per set before it has its demos
GEPA_MINIBATCH = 3  # GEPA's reflection minibatch (its default)
NO_ERROR_LIMIT = 10**9  # an answer DSPy cannot parse scores 0 (as in GEPA), it does not abort MIPROv2's evaluation


class PeerRun:
    """The DSPy side of one arm: data as dspy.Examples, the two seam LMs, the metric and the program."""

    def __init__(self, name: str, task: BenchTask, budget: int, lm_inner: LM | None):
        import dspy

        self.name, self.task, self.budget, self.lm_inner = name, task, budget, lm_inner
        self.clock = Clock()
        _dataset, self.splits, self.scorer = task.data()
        self.store = task.store()
        self.run_id = self.store.create_run("bench", f"bench-{name}-{task.name}",
                                            {"arm": name, "dataset": task.dataset, "budget": budget,
                                             "seed": task.seed, "models": task.models.model_dump()})
        self.meter = Meter()
        base = build_lm(self.store, self.run_id, inner=lm_inner, api_base=task.models.api_base)
        models = task.models
        self.task_engine = SeamEngine(base, self.meter, "task", models.task, models.task_max_tokens, cap=budget)
        self.reflect_engine = SeamEngine(base, self.meter, "reflection", models.rewriter, task.reflection_max_tokens)
        self.task_lm, self.reflect_lm = dspy_lm(self.task_engine), dspy_lm(self.reflect_engine)
        self.trainset = [to_dspy(e) for e in self.splits.train.examples]
        self.valset = [to_dspy(e) for e in self.splits.val.examples]
        self.program = dspy.Predict(dspy.Signature("input -> answer", task.system_prompt))

    def finish(self, compiled: Any, notes: dict[str, Any]) -> ArmResult:
        prompt = instructions_of(compiled)
        test = score_on_test(self.task, prompt, self.lm_inner, self.name)
        spend = self.meter.as_dict()
        self.store.finish_run(self.run_id, "completed", {"prompt": prompt, "spend": spend})
        calls = {role: int(s["calls"]) for role, s in spend.items()}
        calls["test"] = test.calls
        notes = {**notes, "refused_over_budget": self.task_engine.refused,
                 "fresh_calls": {role: int(s["fresh_calls"]) for role, s in spend.items()}}
        return ArmResult(
            arm=self.name, task=self.task.name, seed=self.task.seed, budget=self.budget, test=test.result,
            prompt=prompt, rollouts=calls.get("task", 0), test_rollouts=test.calls,
            tokens=int(sum(s["tokens"] for s in spend.values())) + test.tokens,
            lm_seconds=sum(s["lm_seconds"] for s in spend.values()) + test.lm_seconds, wall_s=self.clock.elapsed(),
            calls=calls, fresh_calls=sum(notes["fresh_calls"].values()) + test.fresh_calls,
            run_ids=[self.run_id, test.result.run_id or ""], notes=notes)


def to_dspy(example: Example) -> Any:
    import dspy

    return dspy.Example(input=example.input, answer=example.target).with_inputs("input")


def as_example(gold: Any) -> Example:
    """Scorers read only the input and the target, so no id travels through DSPy (its proposers show examples)."""
    return Example(id="", input=str(gold.input), target=str(gold.answer))


def answer_of(pred: Any) -> str:
    value = getattr(pred, "answer", None) if pred is not None else None
    return "" if value is None else str(value)


def score_metric(scorer: Scorer) -> Any:
    """MIPROv2's metric: promptlearn's score of the answer field."""

    def metric(gold: Any, pred: Any, trace: Any = None) -> float:
        return safe_score(scorer, answer_of(pred), as_example(gold)).value

    return metric


def feedback_metric(scorer: Scorer) -> Any:
    """GEPA's metric: the score plus the scorer's reason and the expected answer, as feedback text."""
    import dspy

    def metric(gold: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None) -> Any:
        example = as_example(gold)
        score = safe_score(scorer, answer_of(pred), example)
        verdict = "correct" if score.value >= 1.0 else "wrong"
        feedback = f"The answer is {verdict} ({score.reason}). The expected answer is: {example.target}"
        return dspy.Prediction(score=score.value, feedback=feedback)

    return metric


def instructions_of(program: Any) -> str:
    return str(program.predictors()[0].signature.instructions)


def gepa_metric_calls(budget: int, n_val: int) -> int:
    """GEPA checks its budget between iterations, and one iteration scores two minibatches and maybe the whole
    valset: leave room for that overshoot, so its last accepted candidate is scored in full within the budget."""
    return max(1, budget - n_val - 2 * GEPA_MINIBATCH)


def gepa_arm(task: BenchTask, budget: int, lm_inner: LM | None) -> ArmResult:
    """dspy.GEPA (Pareto selection, merges, minibatch 3), reflecting with the task's rewriter model."""
    import dspy

    run = PeerRun("gepa", task, budget, lm_inner)
    calls = gepa_metric_calls(budget, len(run.valset))
    optimizer = dspy.GEPA(metric=feedback_metric(run.scorer), max_metric_calls=calls, reflection_lm=run.reflect_lm,
                          reflection_minibatch_size=GEPA_MINIBATCH, num_threads=1, seed=task.seed,
                          track_stats=False)
    with dspy.context(lm=run.task_lm):
        compiled = optimizer.compile(run.program, trainset=run.trainset, valset=run.valset)
    return run.finish(compiled, {"max_metric_calls": calls})


def mipro_settings(budget: int, n_train: int, n_val: int) -> dict[str, int]:
    """MIPROv2 "light" (6 candidates, 9 full-valset trials), shrunk until its task-model calls fit `budget`:
    demo bootstrapping (used only to inform the proposer) + the seed's valset score + one valset per trial."""
    candidates = MIPRO_LIGHT_CANDIDATES

    def bootstrap(n: int) -> int:
        return (n - 1) * min(n_train, BOOTSTRAP_PEEK)

    while candidates > 2 and bootstrap(candidates) + 2 * n_val > budget:
        candidates -= 1
    light_trials = int(max(2 * math.log2(candidates), 1.5 * candidates))
    affordable = (budget - bootstrap(candidates) - n_val) // max(1, n_val)
    return {"num_candidates": candidates, "num_trials": max(1, min(light_trials, MIPRO_LIGHT_TRIALS, affordable))}


def miprov2_arm(task: BenchTask, budget: int, lm_inner: LM | None) -> ArmResult:
    """dspy.MIPROv2, zero-shot (instructions only), sized to the rollout budget by `mipro_settings`."""
    import dspy

    try:
        import optuna  # noqa: F401  # MIPROv2's search; an optional dependency of DSPy
    except ImportError:
        raise ConfigError("the miprov2 arm needs optuna: pip install optuna==5.0.0") from None
    run = PeerRun("miprov2", task, budget, lm_inner)
    settings = mipro_settings(budget, len(run.trainset), len(run.valset))
    optimizer = dspy.MIPROv2(metric=score_metric(run.scorer), prompt_model=run.reflect_lm, task_model=run.task_lm,
                             auto=None, num_candidates=settings["num_candidates"], max_bootstrapped_demos=0,
                             max_labeled_demos=0, num_threads=1, seed=task.seed, verbose=False, track_stats=False,
                             max_errors=NO_ERROR_LIMIT)
    with dspy.context(lm=run.task_lm):
        compiled = optimizer.compile(run.program, trainset=run.trainset, valset=run.valset,
                                     num_trials=settings["num_trials"], minibatch=False)
    return run.finish(compiled, settings)
