"""Benchmark presets, and a time estimate to size them (an upper bound on calls times seconds per call).

`cpu`: three BIG-Bench-Hard tasks, all six arms, the embedded models (Qwen2.5-0.5B answers, Qwen2.5-1.5B judges,
rewrites, reflects and proposes), sized for about an hour on 2 CPU cores. The seconds per call are assumptions
from benchmarks/results/lm_throughput.json (0.5B: 15-20 generated tokens/s through the seam, so a 30-token answer
after a 200-token prompt takes about 2.5 s) and about 25 s for a 1.5B call of 500 prompt and 100 answer tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from promptlearn.bench.arms import ARMS
from promptlearn.bench.peers import GEPA_MINIBATCH, gepa_metric_calls, mipro_settings
from promptlearn.bench.task import BenchTask
from promptlearn.config import LearnConfig, ModelsConfig
from promptlearn.errors import ConfigError

TASK_CALL_S = 2.5
REFLECT_CALL_S = 25.0
MIPRO_VIEW_BATCH = 10  # MIPROv2's dataset summarizer reads the train split 10 examples per call


@dataclass(frozen=True)
class BenchPreset:
    name: str
    tasks: tuple[BenchTask, ...]
    budget: int
    models: ModelsConfig
    arms: tuple[str, ...] = tuple(ARMS)
    seeds: int = 1
    notes: str = ""

    def estimate_s(self, arms: tuple[str, ...] | None = None, budget: int | None = None, seeds: int | None = None,
                   tasks: tuple[BenchTask, ...] | None = None) -> float:
        """Upper-bound wall time: every arm spends its whole budget, every final prompt is scored on test."""
        chosen, b = arms or self.arms, budget or self.budget
        total = sum(_seconds(task, arm, b) for task in tasks or self.tasks for arm in {"seed", *chosen})
        return total * (seeds or self.seeds)


def _seconds(task: BenchTask, arm: str, budget: int) -> float:
    test = task.test * TASK_CALL_S
    if arm == "seed":
        return test
    if arm in ("promptlearn", "full_rewrite", "add_only"):
        learn = LearnConfig().model_copy(update=_learn(task))
        max_iterations = int(task.promptlearn.get("budget.max_iterations", 4))
        per_iteration = learn.batch_size + learn.candidates * task.val
        iterations = max(0, min(max_iterations, (budget - task.val) // per_iteration))
        task_calls = task.val + iterations * per_iteration
        reflect = iterations * (learn.max_failures + 1 + 2 * learn.candidates)  # judge calls, rewriter + one retry
        return task_calls * TASK_CALL_S + reflect * REFLECT_CALL_S + test
    if arm == "gepa":
        iterations = max(0, (gepa_metric_calls(budget, task.val) - task.val) // (2 * GEPA_MINIBATCH))
        return budget * TASK_CALL_S + max(1, iterations) * REFLECT_CALL_S + test
    settings = mipro_settings(budget, task.train, task.val)  # miprov2
    proposer = math.ceil(task.train / MIPRO_VIEW_BATCH) + 1 + 2 + settings["num_candidates"]
    return budget * TASK_CALL_S + proposer * REFLECT_CALL_S + test


def _learn(task: BenchTask) -> dict[str, int]:
    return {k.split(".", 1)[1]: v for k, v in task.promptlearn.items() if k.startswith("learn.")}


CPU_MODELS = ModelsConfig(task="local/qwen2.5-0.5b", judge="local/qwen2.5-1.5b", rewriter="local/qwen2.5-1.5b",
                          task_max_tokens=32)
CPU_LEARN = {"learn.batch_size": 6, "learn.max_failures": 2, "budget.max_iterations": 2}


def bbh(name: str, train: int = 10, val: int = 10, test: int = 20, **learn: int) -> BenchTask:
    return BenchTask(dataset=f"bbh:{name}", system_prompt="Answer the question.", train=train, val=val, test=test,
                     models=CPU_MODELS, promptlearn={**CPU_LEARN, **learn}, reflection_max_tokens=256)


PRESETS: dict[str, BenchPreset] = {
    "cpu": BenchPreset(
        name="cpu",
        tasks=(bbh("navigate"), bbh("sports_understanding"), bbh("boolean_expressions")),
        budget=30, models=CPU_MODELS,
        notes="train 10 / val 10 / test 20 per task; 30 learning rollouts per arm; one seed. Small on purpose: "
              "about an hour on 2 cores. Intervals are wide at n=20; use more seeds or a GPU for firm claims."),
}


def get_preset(name: str) -> BenchPreset:
    if name not in PRESETS:
        raise ConfigError(f"unknown bench preset '{name}' (choose from {', '.join(PRESETS)})")
    return PRESETS[name]


def select_tasks(preset: BenchPreset, names: list[str] | None) -> tuple[BenchTask, ...]:
    """Preset tasks by dataset or short name; any other dataset gets the preset's first task's settings."""
    if not names:
        return preset.tasks
    known = {t.dataset: t for t in preset.tasks} | {t.name: t for t in preset.tasks}
    known |= {t.dataset.split(":", 1)[-1]: t for t in preset.tasks}
    return tuple(known.get(n) or replace(preset.tasks[0], dataset=n) for n in names)
