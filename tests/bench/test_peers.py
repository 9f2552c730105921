"""DSPy's GEPA and MIPROv2 really run, through our LM seam, and their task-model calls are counted and capped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dspy
import pytest

from promptlearn.bench import ARMS, BenchTask
from promptlearn.bench.peers import mipro_settings
from promptlearn.bench.seam import OVER_BUDGET, SeamEngine, dspy_lm
from promptlearn.lm import FakeLM
from promptlearn.optimize.budget import Meter
from tests.bench.fakes import BETTER, REFLECT, TASK, dspy_fields, make_task, world

LOOP_ARMS = ("promptlearn", "full_rewrite", "add_only")  # these score seed and final prompt on test themselves


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


def test_gepa_runs_for_real_through_our_seam(task: BenchTask, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = spy(monkeypatch, dspy.GEPA)
    fake = world()
    result = ARMS["gepa"](task, 30, fake)
    assert len(seen) == 1
    optimizer = seen[0]["optimizer"]
    assert optimizer.max_metric_calls == 30 - task.val - 6  # room left for GEPA's last iteration
    assert len(seen[0]["kwargs"]["valset"]) == task.val and len(seen[0]["kwargs"]["trainset"]) == task.train
    # The seed instructions went in; the reflection model's proposal came out and was scored on test.
    assert seen[0]["student"].predictors()[0].signature.instructions == task.system_prompt
    assert result.prompt == BETTER == seen[0]["program"].predictors()[0].signature.instructions
    assert result.test.accuracy.estimate == 1.0 and result.test_rollouts == task.test
    # Every DSPy task call reached our FakeLM through the seam (store cache first) and was counted.
    assert result.notes["fresh_calls"]["task"] == len(dspy_task_calls(fake)) > 0
    assert task.val <= result.rollouts == result.calls["task"] <= 30
    reflections = [c for c in fake.calls if c.model == REFLECT]
    assert reflections and "The expected answer is" in reflections[0].messages[-1][1]  # our scorer's feedback


def test_miprov2_runs_for_real_through_our_seam(task: BenchTask, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = spy(monkeypatch, dspy.MIPROv2)
    fake = world()
    result = ARMS["miprov2"](task, 60, fake)
    assert len(seen) == 1
    settings = mipro_settings(60, task.train, task.val)
    assert seen[0]["kwargs"]["num_trials"] == settings["num_trials"] >= 1
    assert seen[0]["optimizer"].max_bootstrapped_demos == 0 and seen[0]["optimizer"].max_labeled_demos == 0
    assert result.prompt == BETTER and result.test.accuracy.estimate == 1.0
    assert result.notes["fresh_calls"]["task"] == len(dspy_task_calls(fake)) > 0
    assert result.rollouts <= 60 and result.calls["reflection"] >= settings["num_candidates"]


@pytest.mark.parametrize("arm", ["gepa", "miprov2"])
def test_a_task_model_that_ignores_dspys_format_scores_zero_and_stays_in_budget(task: BenchTask, arm: str) -> None:
    good = world()
    # Each unparseable answer costs DSPy two calls (ChatAdapter, then its JSONAdapter fallback), and fails both.
    fake = FakeLM(lambda r: "Yes" if r.model == TASK else good.complete(r).text)
    result = ARMS[arm](task, 24, fake)
    assert result.prompt == task.system_prompt and result.test.accuracy.estimate == 0.0
    assert result.rollouts <= 24
    assert result.rollouts + result.notes["refused_over_budget"] >= 2 * task.val  # the seed's valset score alone


@pytest.mark.parametrize("arm", list(ARMS))
def test_every_arm_respects_the_rollout_budget(tmp_path: Path, arm: str) -> None:

    task = make_task(tmp_path, val=6, train=8)
    budget = 20
    result = ARMS[arm](task, budget, world())
    assert result.rollouts <= budget
    assert result.calls.get("task", 0) - (result.test_rollouts if arm in LOOP_ARMS else 0) <= budget
    assert result.test_rollouts in ((task.test, 2 * task.test) if arm in LOOP_ARMS else (task.test,))
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


def test_mipro_settings_fit_the_budget() -> None:
    assert mipro_settings(1000, 30, 30) == {"num_candidates": 6, "num_trials": 9}  # "light"
    small = mipro_settings(30, 10, 10)
    assert small["num_candidates"] >= 2 and small["num_trials"] >= 1
