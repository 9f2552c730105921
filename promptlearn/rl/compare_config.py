"""`CompareConfig`: one frozen config for `promptlearn compare`, and the plan it implies (matched budgets, times).

The budget is counted in task-model rollouts spent learning, the unit both methods share: the prompt arm's
train and val rollouts (scoring on test is counted apart), and the RL arm's sampled completions (steps x
prompts per step x generations). The RL arm's steps are chosen after the prompt arm ran, so that its rollouts
match what the prompt arm really spent (it may stop below its cap).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from promptlearn.config import DEFAULT_REFLECTION_MODEL, DatasetConfig, Frozen, RunConfig, validate
from promptlearn.lm import models
from promptlearn.rl.config import DEFAULT_RL_MODEL, DEFAULT_RL_SYSTEM_PROMPT, RLConfig

DEFAULT_DATASET = DatasetConfig(path="bbh:sports_understanding", train=24, val=12, test=30)
OOD_CANDIDATES = ("bbh:navigate", "bbh:web_of_lies")
# Small enough that the default budget buys two prompt-learning iterations: 12 seed val + 2 x (6 train + 12 val).
PROMPT_DEFAULTS: dict[str, Any] = {"learn.batch_size": 6, "learn.max_failures": 3}


class CompareConfig(Frozen):
    name: str = "compare"
    model: str = Field(DEFAULT_RL_MODEL, description="embedded model name (learned on by llama.cpp for the prompt "
                       "arm) or a local HF folder; every arm is evaluated on its HF weights")
    dataset: DatasetConfig = DEFAULT_DATASET
    scorer: str | dict[str, Any] = "auto"
    ood: str | None = Field(None, description="out-of-domain dataset; None: another BBH task")
    ood_n: int = Field(30, ge=1, description="out-of-domain examples (a seeded sample)")
    system_prompt: str = DEFAULT_RL_SYSTEM_PROMPT
    budget: int = Field(48, ge=1, description="task-model rollouts each arm spends learning")
    max_tokens: int = Field(64, ge=1, le=4096, description="reply length: prompt-arm rollouts, RL completions and "
                            "every evaluation")
    judge: str = DEFAULT_REFLECTION_MODEL
    rewriter: str = DEFAULT_REFLECTION_MODEL
    prompt_overrides: dict[str, Any] = Field(default_factory=lambda: dict(PROMPT_DEFAULTS),
                                             description="dotted RunConfig overrides for the prompt arm")
    num_generations: int = Field(4, ge=2)
    prompts_per_step: int = Field(2, ge=1)
    learning_rate: float = Field(5e-5, gt=0, description="LoRA takes a higher rate than full fine-tuning, and a "
                                 "matched budget buys few steps")
    lora_r: int = Field(8, ge=1)
    lora_alpha: int = Field(16, ge=1, description="LoRA scaling; when not given, twice lora_r")
    temperature: float = Field(1.0, gt=0, le=2)
    beta: float = Field(0.0, ge=0)
    calibration_weight: float = Field(0.0, ge=0)
    eval_points: int = Field(2, ge=0, le=20, description="intermediate curve points per arm, scored on test")
    eval_batch: int = Field(8, ge=1, description="HF evaluation batch size")
    confidence: bool = Field(False, description="elicit 'Confidence: p' at evaluation; report Brier and ECE")
    seed: int = 0
    out_dir: str = "benchmarks/results"
    work_dir: str | None = Field(None, description="RL checkpoints and adapter; default runs/out/compare/<task>")

    @model_validator(mode="before")
    @classmethod
    def _alpha_twice_r(cls, data: Any) -> Any:
        """lora_alpha follows lora_r (alpha = 2r, the usual LoRA scaling) unless given; a bad lora_r is left to the
        field's own validation."""
        if not isinstance(data, dict) or data.get("lora_alpha") is not None:
            return data
        try:
            r = int(data.get("lora_r", cls.model_fields["lora_r"].default))
        except (TypeError, ValueError):
            return data
        return {**data, "lora_alpha": 2 * r}

    @model_validator(mode="after")
    def _check(self) -> CompareConfig:
        if not self.system_prompt.strip():
            raise ValueError("system_prompt must not be empty")
        if self.ood is not None and self.ood == self.dataset.path:
            raise ValueError("ood must be another dataset than the task")
        return self

    @property
    def task(self) -> str:
        """A short name for files: `bbh:sports_understanding` -> sports_understanding, a file -> its stem."""
        path = self.dataset.path
        name = path.split(":", 1)[1] if ":" in path and not Path(path).exists() else Path(path).stem
        return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)

    @property
    def ood_dataset(self) -> str:
        if self.ood is not None:
            return self.ood
        return next(c for c in OOD_CANDIDATES if c != self.dataset.path)

    @property
    def rollouts_per_step(self) -> int:
        return self.num_generations * self.prompts_per_step

    @property
    def rl_dir(self) -> Path:
        return Path(self.work_dir or f"runs/out/compare/{self.task}").expanduser()

    @property
    def learn_model(self) -> str:
        """The prompt arm's task model: llama.cpp for an embedded model (cheaper), else the HF folder itself."""
        name = self.model.removeprefix("local/")
        return f"local/{name}" if name in models.REGISTRY else f"hf/{self.model}"


def rl_steps_for(rollouts: int, per_step: int) -> int:
    """GRPO steps whose completions come closest to `rollouts` (at least one step)."""
    if per_step < 1:
        raise ValueError(f"rollouts per step must be >= 1, got {per_step}")
    return max(1, math.floor(rollouts / per_step + 0.5))  # half up: round() would send 2.5 to 2


def save_every(steps: int, eval_points: int) -> int:
    """Checkpoint spacing that gives about `eval_points` checkpoints before the last step."""
    return max(1, math.ceil(steps / (eval_points + 1)))


def prompt_run_config(cfg: CompareConfig, n_test: int) -> RunConfig:
    """The prompt arm's run: `budget` learning rollouts, room to score the seed and the result on test once each,
    and no iteration or patience limit, so the rollout budget is what stops it."""
    data = {
        "name": f"{cfg.name}-prompt-{cfg.task}", "system_prompt": cfg.system_prompt, "scorer": cfg.scorer,
        "dataset": cfg.dataset.model_dump(), "seed": cfg.seed,
        "models": {"task": cfg.learn_model, "judge": cfg.judge, "rewriter": cfg.rewriter,
                   "task_max_tokens": cfg.max_tokens},
        "budget": {"max_rollouts": cfg.budget + 2 * n_test, "max_iterations": 10_000, "patience": 10_000},
    }
    return validate(data, source="compare").with_overrides(**cfg.prompt_overrides)


def rl_config(cfg: CompareConfig, steps: int) -> RLConfig:
    """The RL arm: same model, data block, seed, scorer and system prompt; every checkpoint kept for the curve."""
    return RLConfig(
        name=f"{cfg.name}-rl-{cfg.task}", model=cfg.model.removeprefix("local/"), dataset=cfg.dataset,
        scorer=cfg.scorer, system_prompt=cfg.system_prompt, max_steps=steps, num_generations=cfg.num_generations,
        prompts_per_step=cfg.prompts_per_step, learning_rate=cfg.learning_rate, lora_r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha, max_completion_length=cfg.max_tokens, temperature=cfg.temperature,
        beta=cfg.beta, calibration_weight=cfg.calibration_weight, save_steps=save_every(steps, cfg.eval_points),
        keep_checkpoints=None, output_dir=str(cfg.rl_dir), seed=cfg.seed)


@dataclass(frozen=True)
class Cost:
    """Rough seconds on 2 quiet CPU cores (2 threads) at 64-token replies. llama.cpp from
    benchmarks/results/lm_throughput.json; the torch numbers from single-thread runs on a busy machine, scaled by
    the slowdown llama.cpp showed there at the same time. Expect +-50%; a busy machine is several times slower."""

    rollout_s: float  # one llama.cpp rollout (prompt arm)
    grpo_step_s: float  # one GRPO step of 8 completions, fp32 + LoRA
    hf_eval_s: float  # one greedy HF reply inside a batch of 8
    load_s: float  # loading the HF weights (each arm loads once, plus once per adapter)
    convert_s: float  # dequantizing the GGUF file into an HF folder, the first time only
    judge_s: float  # one judge or rewriter call when this model plays that role


COSTS = {
    "smollm2-135m": Cost(rollout_s=0.7, grpo_step_s=10.0, hf_eval_s=0.5, load_s=10.0, convert_s=25.0, judge_s=5.0),
    "qwen2.5-0.5b": Cost(rollout_s=1.8, grpo_step_s=40.0, hf_eval_s=2.0, load_s=20.0, convert_s=70.0, judge_s=12.0),
    "qwen2.5-1.5b": Cost(rollout_s=4.5, grpo_step_s=120.0, hf_eval_s=5.5, load_s=50.0, convert_s=200.0,
                         judge_s=20.0),
}
HOSTED_CALL_S = 4.0


@dataclass(frozen=True)
class Plan:
    budget: int
    rl_steps: int
    rl_rollouts: int
    save_steps: int
    n_test: int
    n_ood: int
    eval_replies: int
    seconds: dict[str, float]

    def lines(self) -> list[str]:
        total = sum(self.seconds.values())
        parts = ", ".join(f"{k} {v / 60:.1f}" for k, v in self.seconds.items())
        return [f"prompt arm: up to {self.budget} task-model rollouts learning (+ seed/final scored on test by "
                "llama.cpp, counted apart)",
                f"RL arm: {self.rl_steps} GRPO steps = {self.rl_rollouts} rollouts (matched to what the prompt arm "
                f"spends; recomputed after it runs), a checkpoint every {self.save_steps} steps",
                f"evaluation (HF backend, all arms): test {self.n_test}, ood {self.n_ood}, up to "
                f"{self.eval_replies} greedy replies",
                f"estimated time on 2 quiet CPU cores: about {total / 60:.0f} min ({parts} min; +-50%)"]


def busy_warning() -> str | None:
    """A hint when the machine is already busy and the thread count is left to torch and llama.cpp: their threads
    spin-wait for each other, and a toy comparison measured 20x slower with 2 threads than with 1."""
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if os.environ.get("PROMPTLEARN_THREADS") or load < cores - 0.5:
        return None
    return (f"note: this machine is busy (load {load:.1f} on {cores} cores); PROMPTLEARN_THREADS=1 can be many times "
            "faster for torch and llama.cpp")


def plan(cfg: CompareConfig, n_test: int, n_ood: int, spent: int | None = None) -> Plan:
    """What a comparison will do and roughly how long it takes; `spent` is the prompt arm's real rollout count."""
    steps = rl_steps_for(spent if spent is not None else cfg.budget, cfg.rollouts_per_step)
    save = save_every(steps, cfg.eval_points)
    points = min(cfg.eval_points, max(0, math.ceil(steps / save) - 1))
    replies = n_test * (3 + cfg.eval_points + points) + 3 * n_ood
    return Plan(cfg.budget, steps, steps * cfg.rollouts_per_step, save, n_test, n_ood, replies,
                estimate_seconds(cfg, n_test, steps, replies))


def estimate_seconds(cfg: CompareConfig, n_test: int, steps: int, replies: int) -> dict[str, float]:
    cost = COSTS.get(cfg.model.removeprefix("local/"), COSTS["qwen2.5-0.5b"])
    scale = cfg.max_tokens / 64
    run = prompt_run_config(cfg, n_test)
    learn = run.learn
    per_iteration = learn.batch_size + learn.candidates * max(1, cfg.dataset.val if isinstance(cfg.dataset.val, int)
                                                                  else 12)
    iterations = max(1, cfg.budget // per_iteration)
    calls = iterations * (learn.max_failures + 1 + learn.candidates)
    helper = COSTS.get(cfg.judge.removeprefix("local/"))
    call_s = helper.judge_s if helper and cfg.judge.startswith("local/") else HOSTED_CALL_S
    seconds = {"prompt": (cfg.budget + 2 * n_test) * cost.rollout_s * scale + calls * call_s,
               "rl": cost.load_s + steps * cost.grpo_step_s * scale * cfg.rollouts_per_step / 8,
               "eval": (2 + cfg.eval_points) * cost.load_s + replies * cost.hf_eval_s * scale}
    if not _converted(cfg.model):
        seconds["convert"] = cost.convert_s
    return seconds


def _converted(model: str) -> bool:
    """Whether the HF folder exists already (a folder model, or an embedded one dequantized before)."""
    from promptlearn.rl.model_io import hf_cache_dir

    name = model.removeprefix("local/")
    if name not in models.REGISTRY:
        return True
    spec = models.spec(name)
    return (hf_cache_dir() / f"{spec.name}-{spec.sha256[:12]}" / "config.json").is_file()
