"""Benchmark presets, and a time estimate to size them (an upper bound on calls times seconds per call).

`cpu`: three BIG-Bench-Hard tasks, all six arms, the embedded models (Qwen2.5-0.5B answers, Qwen2.5-1.5B judges,
rewrites, reflects and proposes), sized for about an hour on 2 CPU cores. The seconds per call are assumptions
from benchmarks/results/lm_throughput.json (0.5B: 15-20 generated tokens/s through the seam, so a 30-token answer
after a 200-token prompt takes about 2.5 s) and about 25 s for a 1.5B call of 500 prompt and 100 answer tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from promptlearn.bench.arms import DEFAULT_ARMS, LOOP_OVERRIDES
from promptlearn.bench.peers import CHECKPOINTS, GEPA_MINIBATCH
from promptlearn.bench.task import BenchTask
from promptlearn.config import LearnConfig, ModelsConfig
from promptlearn.data.bfcl import METADATA as BFCL_METADATA
from promptlearn.errors import ConfigError

TASK_CALL_S = 2.5
REFLECT_CALL_S = 25.0
MIPRO_VIEW_BATCH = 10  # MIPROv2's dataset summarizer reads the train split 10 examples per call
MIPRO_LIGHT_CANDIDATES = 6  # instruction candidates MIPROv2's auto="light" proposes


@dataclass(frozen=True)
class BenchPreset:
    name: str
    tasks: tuple[BenchTask, ...]
    budget: int
    models: ModelsConfig
    arms: tuple[str, ...] = DEFAULT_ARMS
    seeds: int = 1
    notes: str = ""
    out_name: str = ""  # results file stem; default `peers-<name>`
    reuse_peers: bool = False  # keep the peers' results in `<out>-peers/` and reuse them while they match
    task_call_s: float = TASK_CALL_S  # seconds per task-model call, for the estimate
    # Tasks of the same family the preset does not list ("clinc-travel" beside "clinc-banking"), built the way its
    # own are: same splits, seed-prompt shape, scorer and loop settings; None when the name is not of the family.
    family: Callable[[str], BenchTask | None] | None = None

    @property
    def results_name(self) -> str:
        return self.out_name or f"peers-{self.name}"

    def estimate_s(self, arms: tuple[str, ...] | None = None, budget: int | None = None, seeds: int | None = None,
                   tasks: tuple[BenchTask, ...] | None = None) -> float:
        """Upper-bound wall time: every arm spends its whole budget, every final prompt is scored on test."""
        chosen, b = arms or self.arms, budget or self.budget
        total = sum(_seconds(task, arm, b, self.task_call_s)
                    for task in tasks or self.tasks for arm in {"seed", *chosen})
        return total * (seeds or self.seeds)


def _seconds(task: BenchTask, arm: str, budget: int, call_s: float) -> float:
    test = task.test * call_s
    if arm == "seed":
        return test
    if arm in LOOP_OVERRIDES:  # promptlearn and its ablations run the loop
        learn = LearnConfig().model_copy(update=_learn(task))
        max_iterations = int(task.promptlearn.get("budget.max_iterations", 4))
        per_iteration = learn.batch_size + learn.candidates * task.val
        iterations = max(0, min(max_iterations, (budget - task.val) // per_iteration))
        task_calls = task.val + iterations * per_iteration
        reflect = iterations * (learn.max_failures + 1 + 2 * learn.candidates)  # judge calls, rewriter + one retry
        return task_calls * call_s + reflect * REFLECT_CALL_S + test
    if arm == "gepa":
        iterations = max(0, (budget - task.val) // (2 * GEPA_MINIBATCH))
        return budget * call_s + max(1, iterations) * REFLECT_CALL_S + test * (1 + len(CHECKPOINTS))
    # miprov2, auto="light": 6 candidates, demo bootstrapping over the train split, 10 trials on minibatches of
    # up to 35 val examples plus full evaluations: about 10 val passes; it is not held to `budget`.
    mipro_calls = task.train + 10 * min(task.val, 35) + task.val
    proposer = math.ceil(task.train / MIPRO_VIEW_BATCH) + 1 + 2 + MIPRO_LIGHT_CANDIDATES
    return mipro_calls * call_s + proposer * REFLECT_CALL_S + test


def _learn(task: BenchTask) -> dict[str, int]:
    return {k.split(".", 1)[1]: v for k, v in task.promptlearn.items() if k.startswith("learn.")}


CPU_MODELS = ModelsConfig(task="local/qwen2.5-0.5b", judge="local/qwen2.5-1.5b", rewriter="local/qwen2.5-1.5b",
                          task_max_tokens=32)
CPU_LEARN = {"learn.batch_size": 6, "learn.max_failures": 2, "budget.max_iterations": 2}


def bbh(name: str, train: int = 10, val: int = 10, test: int = 20, **learn: int) -> BenchTask:
    return BenchTask(dataset=f"bbh:{name}", system_prompt="Answer the question.", train=train, val=val, test=test,
                     models=CPU_MODELS, promptlearn={**CPU_LEARN, **learn}, reflection_max_tokens=256)


def learn_preset() -> BenchPreset:
    from promptlearn.bench.learn import LEARN_BUDGET, LEARN_MODELS, learn_family_task, learn_tasks

    return BenchPreset(
        name="learn", tasks=learn_tasks(), budget=LEARN_BUDGET, models=LEARN_MODELS,
        arms=DEFAULT_ARMS, out_name="learn",
        reuse_peers=True, family=learn_family_task,
        notes="two CLINC150 domains, one BBH task and rules-json; 150 learning rollouts per arm; checkpoints at "
              "50 and 100 rollouts; the peers' test results are reused while their fingerprint matches.")


def user_preset() -> BenchPreset:
    from promptlearn.bench.learn import LEARN_BUDGET, LEARN_MODELS, user_tasks

    return BenchPreset(
        name="user", tasks=user_tasks(), budget=LEARN_BUDGET, models=LEARN_MODELS, arms=("seed", "promptlearn"),
        out_name="user", reuse_peers=True,
        notes="the loop as a user runs it (the config's defaults), under the conditions of the check on tasks the "
              "developers never see: train 30 / val 30 / test 100, 150 learning rollouts; two six-intent CLINC150 "
              "subsets and two binary BBH tasks, chosen before any result.")


PRESETS: dict[str, BenchPreset] = {
    "cpu": BenchPreset(
        name="cpu",
        tasks=(bbh("navigate"), bbh("sports_understanding"), bbh("boolean_expressions")),
        budget=30, models=CPU_MODELS,
        notes="train 10 / val 10 / test 20 per task; 30 learning rollouts per arm; one seed. Small on purpose: "
              "about 80 minutes on 2 cores (MIPROv2 light is not held to the budget). Intervals are wide at n=20; "
              "use more seeds or a GPU for firm claims."),
}


TOOLS_MODELS = CPU_MODELS.model_copy(update={"task_max_tokens": 128})  # a call with its arguments is longer
TOOLS_SEED_PROMPT = "You can call these functions."
TOOLS_CALL_S = 11.0  # measured: a 0.5B call with the tools' schemas in its prompt (tools.md, 455 s for 40 calls)
# No worked examples: a demonstration is a (user, assistant text) turn, and a call is not text.
TOOLS_LEARN = {**CPU_LEARN, "budget.max_iterations": 4, "learn.worked_examples": 0}


def bfcl_task(category: str, train: int = 20, val: int = 20, test: int = 40) -> BenchTask:
    """A BFCL category as bfcl-eval ships it (`bfcl:<category>`): tools per example, scored by its AST checker."""
    return BenchTask(dataset=f"bfcl:{category}", system_prompt=TOOLS_SEED_PROMPT, train=train, val=val, test=test,
                     scorer="bfcl", models=TOOLS_MODELS, promptlearn=dict(TOOLS_LEARN), reflection_max_tokens=256,
                     label=f"bfcl-{category}", columns={"id": "id", "metadata": list(BFCL_METADATA)})


def tools_preset() -> BenchPreset:
    return BenchPreset(
        name="tools", tasks=tuple(bfcl_task(c) for c in ("simple_python", "multiple", "irrelevance")), budget=80,
        models=TOOLS_MODELS, arms=("promptlearn", "gepa"), out_name="tools", reuse_peers=True,
        task_call_s=TOOLS_CALL_S,
        notes="function calling (issue #20): BFCL's simple_python, multiple and irrelevance (where the right "
              "answer is no call) as bfcl-eval ships them, scored by its AST checker; the seed prompt is \"You can "
              "call these functions.\"; seed vs promptlearn vs GEPA on 80 learning rollouts each; train 20 / val "
              "20 / test 40 per category. A preset of its own: not in the learn preset's mean.")


# Presets that read the shared data folder are built when asked for, so importing the package never needs it.
LAZY_PRESETS: dict[str, Callable[[], BenchPreset]] = {"learn": learn_preset, "tools": tools_preset,
                                                       "user": user_preset}


def get_preset(name: str) -> BenchPreset:
    if name in LAZY_PRESETS:
        return LAZY_PRESETS[name]()
    if name not in PRESETS:
        raise ConfigError(f"unknown bench preset '{name}' (choose from {', '.join([*PRESETS, *LAZY_PRESETS])})")
    return PRESETS[name]


def select_tasks(preset: BenchPreset, names: list[str] | None) -> tuple[BenchTask, ...]:
    """Preset tasks by dataset or short name; any other dataset gets the preset's sizes and models (`own_task`)."""
    if not names:
        return preset.tasks
    known = {t.dataset: t for t in preset.tasks} | {t.name: t for t in preset.tasks}
    known |= {t.dataset.split(":", 1)[-1]: t for t in preset.tasks}
    return tuple(known.get(n) or (preset.family and preset.family(n)) or own_task(preset, n) for n in names)


def own_task(preset: BenchPreset, dataset: str) -> BenchTask:
    """A dataset the preset does not know: its sizes, models and loop settings, none of its first task's data
    specifics (label, split column, scorer, seed prompt); set those with --prompt and --scorer."""
    return replace(preset.tasks[0], dataset=dataset, label=None, split_column=None, scorer="auto",
                   system_prompt=BenchTask.system_prompt, columns={})
