"""The peers, run for real and as their users run them: DSPy's GEPA and MIPROv2 on `dspy.Predict("input ->
answer")`, through our seam.

The program's instructions start as the task's seed prompt; the metric is promptlearn's scorer (GEPA also gets
its reason as feedback text). GEPA gets `max_metric_calls` = the budget and MIPROv2 runs `auto="light"` with DSPy's
default demo settings; nothing is capped at our seam, and what each really spent is reported. The compiled
program (its adapter, instructions and demos) is then scored on the same test split as every other arm, as a
user would deploy it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from promptlearn.bench.seam import SeamEngine, ToolsFor, dspy_lm
from promptlearn.bench.task import ArmResult, BenchTask, Clock
from promptlearn.data import Example, Scorer
from promptlearn.errors import ConfigError
from promptlearn.evaluate import EvalResult, summarize
from promptlearn.lm import LM, build_lm
from promptlearn.optimize.budget import Meter
from promptlearn.rollouts import RolloutResult, safe_score
from promptlearn.toolcalls import Tools

GEPA_MINIBATCH = 3  # GEPA's reflection minibatch (its default)
NO_ERROR_LIMIT = 10**9  # an answer DSPy cannot parse scores 0 (as in GEPA), it does not abort MIPROv2's evaluation
CHECKPOINTS = (50, 100)  # learning rollouts at which each arm's returned version is also scored on test


class PeerRun:
    """The DSPy side of one arm: data as dspy.Examples, the two seam LMs, the metric and the program."""

    def __init__(self, name: str, task: BenchTask, budget: int, lm_inner: LM | None, cap: int | None = None):
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
        # A tool task: each example's tools go with the task model's requests about it, and the metric scores
        # the stored example (its metadata holds what the scorer checks against), found by its input.
        self.by_input = by_input([*self.splits.train, *self.splits.val, *self.splits.test])
        tools = tools_lookup(self.by_input)
        self.task_engine = SeamEngine(base, self.meter, "task", models.task, models.task_max_tokens, cap=cap,
                                      tools_for=tools)
        self.reflect_engine = SeamEngine(base, self.meter, "reflection", models.rewriter, task.reflection_max_tokens)
        # Test scoring is metered apart: it is not learning.
        self.test_engine = SeamEngine(base, Meter(), "test", models.task, models.task_max_tokens, tools_for=tools)
        self.task_lm, self.reflect_lm = dspy_lm(self.task_engine), dspy_lm(self.reflect_engine)
        self.test_lm = dspy_lm(self.test_engine)
        self.trainset = [to_dspy(e) for e in self.splits.train.examples]
        self.valset = [to_dspy(e) for e in self.splits.val.examples]
        self.program = dspy.Predict(dspy.Signature("input -> answer", task.system_prompt))

    def score_program(self, program: Any) -> EvalResult:
        """The compiled program on the test split, through DSPy (adapter, instructions, demos), scored by
        promptlearn's scorer. A reply DSPy cannot parse is an unparsed answer (score 0), not a crash."""
        import dspy

        results = []
        with dspy.context(lm=self.test_lm):
            for example in self.splits.test.examples:
                error = None
                try:
                    output = answer_of(program(input=example.input))
                except Exception as exc:  # DSPy's adapter failed to parse the reply: this example scores 0
                    output, error = "", f"{type(exc).__name__}: {str(exc)[:200]}"
                score = safe_score(self.scorer, output, example)
                results.append(RolloutResult(example, output, score.value, error or score.reason, score.parsed,
                                             error=error))
        return summarize(results, self.run_id)

    def finish(self, compiled: Any, notes: dict[str, Any], checkpoints: dict[int, Any] | None = None) -> ArmResult:
        prompt = program_text(compiled)
        spend = self.meter.as_dict()
        test = self.score_program(compiled)
        scored = {n: self.score_program(p) for n, p in (checkpoints or {}).items()}
        test_spend = self.test_engine.meter.as_dict().get("test", {})
        self.store.finish_run(self.run_id, "completed", {"prompt": prompt, "spend": spend})
        calls = {role: int(s["calls"]) for role, s in spend.items()}
        calls["test"] = int(test_spend.get("calls", 0))
        reflection = spend.get("reflection", {})
        notes = {**notes, "refused_over_budget": self.task_engine.refused, "demos": demo_count(compiled),
                 "fresh_calls": {role: int(s["fresh_calls"]) for role, s in spend.items()}}
        return ArmResult(
            arm=self.name, task=self.task.name, seed=self.task.seed, budget=self.budget, test=test,
            prompt=prompt, rollouts=calls.get("task", 0), test_rollouts=calls["test"],
            tokens=int(sum(s["tokens"] for s in spend.values()) + test_spend.get("tokens", 0)),
            lm_seconds=sum(s["lm_seconds"] for s in spend.values()) + float(test_spend.get("lm_seconds", 0.0)),
            wall_s=self.clock.elapsed(), calls=calls,
            fresh_calls=sum(notes["fresh_calls"].values()) + int(test_spend.get("fresh_calls", 0)),
            run_ids=[self.run_id], notes=notes, checkpoints=scored,
            reflection_calls=int(reflection.get("calls", 0)), reflection_tokens=int(reflection.get("tokens", 0)))


def to_dspy(example: Example) -> Any:
    import dspy

    return dspy.Example(input=example.input, answer=example.target).with_inputs("input")


def as_example(gold: Any, known: Mapping[str, Example] | None = None) -> Example:
    """Scorers read the input and the target, so no id travels through DSPy (its proposers show examples); an
    example with tools is the one `known` holds for that input (its metadata is what the scorer checks)."""
    found = known.get(str(gold.input)) if known else None
    return found or Example(id="", input=str(gold.input), target=str(gold.answer))


def by_input(examples: Iterable[Example]) -> dict[str, Example]:
    """The examples that carry tools, by input; empty for a task without tools."""
    return {e.input: e for e in examples if e.tools is not None}


def tools_lookup(known: Mapping[str, Example]) -> ToolsFor | None:
    """The tools of the example a DSPy request asks about: the longest known input its text contains."""
    if not known:
        return None
    inputs = sorted(known, key=len, reverse=True)

    def tools_for(text: str) -> Tools | None:
        found = next((i for i in inputs if i in text), None)
        return known[found].tools if found is not None else None

    return tools_for


def answer_of(pred: Any) -> str:
    value = getattr(pred, "answer", None) if pred is not None else None
    return "" if value is None else str(value)


def score_metric(scorer: Scorer, known: Mapping[str, Example] | None = None) -> Any:
    """MIPROv2's metric: promptlearn's score of the answer field."""

    def metric(gold: Any, pred: Any, trace: Any = None) -> float:
        return safe_score(scorer, answer_of(pred), as_example(gold, known)).value

    return metric


def feedback_metric(scorer: Scorer, known: Mapping[str, Example] | None = None) -> Any:
    """GEPA's metric: the score plus the scorer's reason (for tool calls, the checker's error) and the expected
    answer, as feedback text."""
    import dspy

    def metric(gold: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None) -> Any:
        example = as_example(gold, known)
        score = safe_score(scorer, answer_of(pred), example)
        verdict = "correct" if score.value >= 1.0 else "wrong"
        feedback = f"The answer is {verdict} ({score.reason}). The expected answer is: {example.target}"
        return dspy.Prediction(score=score.value, feedback=feedback)

    return metric


def instructions_of(program: Any) -> str:
    return str(program.predictors()[0].signature.instructions)


def demo_count(program: Any) -> int:
    return len(getattr(program.predictors()[0], "demos", None) or [])


def program_text(program: Any) -> str:
    """The instructions, then the demos the program carries (what a user would read to see what was learned)."""
    lines = [instructions_of(program)]
    for demo in getattr(program.predictors()[0], "demos", None) or []:
        lines.append(f"Example: {demo.get('input', '')!s} -> {demo.get('answer', '')!s}")
    return "\n".join(lines)


def gepa_checkpoints(detailed: Any, points: tuple[int, ...] = CHECKPOINTS) -> dict[int, Any]:
    """The program GEPA would have returned after N metric calls: the best-on-val candidate discovered by then
    (ties go to the earliest, as GEPA's own best_idx does)."""
    if detailed is None:
        return {}
    found = list(zip(detailed.discovery_eval_counts, detailed.val_aggregate_scores, detailed.candidates,
                     strict=False))
    out = {}
    for n in points:
        known = [(score, -i, cand) for i, (count, score, cand) in enumerate(found) if count <= n]
        if known:
            out[n] = max(known, key=lambda t: (t[0], t[1]))[2]
    return out


def gepa_arm(task: BenchTask, budget: int, lm_inner: LM | None) -> ArmResult:
    """dspy.GEPA as its users run it: `max_metric_calls` = the budget, Pareto selection, merges, minibatch 3,
    reflecting with the task's rewriter model. Not capped at our seam: it spends what it spends (reported)."""
    import dspy

    run = PeerRun("gepa", task, budget, lm_inner)
    optimizer = dspy.GEPA(metric=feedback_metric(run.scorer, run.by_input), max_metric_calls=budget,
                          reflection_lm=run.reflect_lm, reflection_minibatch_size=GEPA_MINIBATCH, num_threads=1,
                          seed=task.seed, track_stats=True)
    with dspy.context(lm=run.task_lm):
        compiled = optimizer.compile(run.program, trainset=run.trainset, valset=run.valset)
    detailed = getattr(compiled, "detailed_results", None)
    notes = {"max_metric_calls": budget, "candidates": len(getattr(detailed, "candidates", []) or [])}
    return run.finish(compiled, notes, gepa_checkpoints(detailed, tuple(n for n in CHECKPOINTS if n < budget)))


def miprov2_arm(task: BenchTask, budget: int, lm_inner: LM | None) -> ArmResult:
    """dspy.MIPROv2 as its users run it: `auto="light"` with DSPy's default demo settings (bootstrapped and
    labelled demos), uncapped; plotted at the rollouts it actually spent (`budget` is not its limit)."""
    import dspy

    try:
        import optuna  # noqa: F401  # MIPROv2's search; an optional dependency of DSPy
    except ImportError:
        raise ConfigError("the miprov2 arm needs optuna: pip install optuna==5.0.0") from None
    run = PeerRun("miprov2", task, budget, lm_inner)
    optimizer = dspy.MIPROv2(metric=score_metric(run.scorer, run.by_input), prompt_model=run.reflect_lm,
                             task_model=run.task_lm, auto="light", num_threads=1, seed=task.seed, verbose=False,
                             track_stats=False, max_errors=NO_ERROR_LIMIT)
    with dspy.context(lm=run.task_lm):
        compiled = optimizer.compile(run.program, trainset=run.trainset, valset=run.valset)
    return run.finish(compiled, {"auto": "light"})
