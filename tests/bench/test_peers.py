"""DSPy's GEPA and MIPROv2 really run, through our LM seam, and their task-model calls are counted and capped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dspy
import pytest

from promptlearn.bench import ARMS, BenchTask
from promptlearn.bench.arms import LOOP_OVERRIDES
from promptlearn.bench.seam import OVER_BUDGET, SeamEngine, dspy_lm
from promptlearn.lm import FakeLM
from promptlearn.optimize.budget import Meter
from tests.bench.fakes import BETTER, REFLECT, TASK, dspy_fields, make_task, world

# These score the seed and the final prompt on test themselves.
LOOP_ARMS = tuple(LOOP_OVERRIDES)  # promptlearn and its ablations


def spy(monkeypatch: pytest.MonkeyPatch, cls: type) -> list[dict[str, Any]]:
    """Record each call of `cls.compile` and what it returned, calling the real method."""
    seen: list[dict[str, Any]] = []
    real = cls.compile  # type: ignore[attr-defined]

    def compile(self, student, **kwargs):  # type: ignore[no-untyped-def]
        program = real(self, student, **kwargs)
        seen.append({"optimizer": self, "kwargs": kwargs, "student": student, "program": program})
        return program

    monkeypatch.setattr(cls, "compile", compile)
    return seen


def dspy_task_calls(fake: FakeLM) -> list[Any]:
    return [c for c in fake.calls if c.model == TASK and dspy_fields(c.messages[0][1])]


def test_gepa_runs_as_its_users_run_it_through_our_seam(task: BenchTask, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = spy(monkeypatch, dspy.GEPA)
    fake = world()
    result = ARMS["gepa"](task, 30, fake)
    assert len(seen) == 1
    optimizer = seen[0]["optimizer"]
    assert optimizer.max_metric_calls == 30  # the budget itself, as a user sets it; nothing capped at our seam
    assert len(seen[0]["kwargs"]["valset"]) == task.val and len(seen[0]["kwargs"]["trainset"]) == task.train
    # The seed instructions went in; the reflection model's proposal came out and was scored on test.
    assert seen[0]["student"].predictors()[0].signature.instructions == task.system_prompt
    assert result.prompt == BETTER == seen[0]["program"].predictors()[0].signature.instructions
    assert result.test.accuracy.estimate == 1.0 and len(result.test.results) == task.test
    # Every DSPy task call reached our FakeLM through the seam (store cache first) and was counted.
    # (the test split's calls are made once: checkpoints that hold the same program are answered by the store)
    assert result.notes["fresh_calls"]["task"] == len(dspy_task_calls(fake)) - task.test > 0
    assert result.notes["refused_over_budget"] == 0 and task.val <= result.rollouts == result.calls["task"]
    assert result.reflection_calls == result.calls["reflection"] > 0 and result.reflection_tokens > 0
    reflections = [c for c in fake.calls if c.model == REFLECT]
    assert reflections and "The expected answer is" in reflections[0].messages[-1][1]  # our scorer's feedback
    # Checkpoints: the best-on-val candidate GEPA had found after 50 and 100 calls, scored on test.
    assert set(result.checkpoints) <= {50, 100}


def test_miprov2_runs_light_with_its_default_demos(task: BenchTask, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = spy(monkeypatch, dspy.MIPROv2)
    fake = world()
    result = ARMS["miprov2"](task, 60, fake)
    assert len(seen) == 1
    optimizer = seen[0]["optimizer"]
    assert optimizer.auto == "light"
    assert optimizer.max_bootstrapped_demos == 4 and optimizer.max_labeled_demos == 4  # DSPy's defaults
    assert result.test.accuracy.estimate == 1.0 and result.prompt.startswith(BETTER)
    assert result.notes["fresh_calls"]["task"] > 0 and result.notes["refused_over_budget"] == 0
    assert result.calls["reflection"] == result.reflection_calls > 0


@pytest.mark.parametrize("arm", ["gepa", "miprov2"])
def test_a_task_model_that_ignores_dspys_format_scores_zero(task: BenchTask, arm: str) -> None:
    good = world()
    # Each unparseable answer costs DSPy two calls (ChatAdapter, then its JSONAdapter fallback), and fails both.
    fake = FakeLM(lambda r: "Yes" if r.model == TASK else good.complete(r).text)
    result = ARMS[arm](task, 24, fake)
    assert result.test.accuracy.estimate == 0.0
    assert result.test.answer_distribution == {"(unparsed)": task.test}
    assert result.rollouts >= 2 * task.val  # the seed's valset score alone


@pytest.mark.parametrize("arm", list(ARMS))
def test_every_arm_reports_what_it_spent(tmp_path: Path, arm: str) -> None:
    task = make_task(tmp_path, val=6, train=8)
    budget = 20
    result = ARMS[arm](task, budget, world())
    if arm in LOOP_ARMS or arm == "seed":
        assert result.rollouts <= budget  # ours stop at the budget
    if arm == "gepa":
        assert result.rollouts <= budget + task.val + 6  # GEPA checks its budget between iterations
    assert result.calls.get("task", 0) - (result.test_rollouts if arm in LOOP_ARMS else 0) == result.rollouts
    assert len(result.test.results) == task.test


def test_the_seam_caps_task_calls_with_a_reply_that_parses() -> None:
    fake = FakeLM(lambda r: "[[ ## answer ## ]]\nBUG\n\n[[ ## completed ## ]]")
    engine = SeamEngine(fake, Meter(), "task", TASK, 32, cap=2)
    program = dspy.Predict("input -> answer")
    with dspy.context(lm=dspy_lm(engine)):
        answers = [program(input=f"ticket {i}").answer for i in range(4)]
    assert answers == ["BUG", "BUG", OVER_BUDGET, OVER_BUDGET]
    assert len(fake.calls) == 2 and engine.refused == 2


def test_sampled_repeats_get_distinct_seeds_and_greedy_calls_do_not() -> None:
    fake = FakeLM(lambda r: "[[ ## answer ## ]]\nok\n\n[[ ## completed ## ]]")
    engine = SeamEngine(fake, Meter(), "reflection", REFLECT, 64)
    program = dspy.Predict("input -> answer")
    for temperature in (1.0, 1.0, 0.0, 0.0):
        with dspy.context(lm=dspy_lm(engine).copy(temperature=temperature)):
            program(input="same question")
    assert [c.seed for c in fake.calls] == [0, 1, 0, 0]
    assert [c.temperature for c in fake.calls] == [1.0, 1.0, 0.0, 0.0]
