"""`RLConfig`: one frozen, validated config for a GRPO + LoRA run, and `RLResult`, what a run hands back.

The dataset block is the same `DatasetConfig` a prompt-learning run uses, split with the same seed, so both methods
train on the same examples and the test split stays unseen by either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from promptlearn.config import DatasetConfig, Frozen

DEFAULT_RL_MODEL = "smollm2-135m"  # also `compare`'s
DEFAULT_RL_SYSTEM_PROMPT = "You are a helpful assistant. Answer the question, then give the final answer on its own."


class RLConfig(Frozen):
    name: str = "rl"
    model: str = Field(DEFAULT_RL_MODEL, description="an embedded model name (local/ optional) or a local HF folder")
    dataset: DatasetConfig = DatasetConfig()
    scorer: str | dict[str, Any] = "auto"
    system_prompt: str = DEFAULT_RL_SYSTEM_PROMPT
    max_steps: int = Field(50, ge=1)
    num_generations: int = Field(4, ge=2, description="completions sampled per prompt (the GRPO group)")
    prompts_per_step: int = Field(2, ge=1, description="distinct prompts per optimizer step")
    learning_rate: float = Field(1e-5, gt=0)
    lora_r: int = Field(8, ge=1)
    lora_alpha: int = Field(16, ge=1)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    max_completion_length: int = Field(64, ge=1, le=8192)
    temperature: float = Field(1.0, gt=0, le=2)
    beta: float = Field(0.0, ge=0, description="KL weight against the base model; 0 skips the reference model")
    save_steps: int = Field(25, ge=1, description="checkpoint every this many steps (and at the end)")
    keep_checkpoints: int | None = Field(2, ge=1, description="newest checkpoints kept; None keeps all (to score "
                                         "each one afterwards, as `promptlearn compare` does)")
    output_dir: str = "runs/out/rl"
    seed: int = 0
    calibration_weight: float = Field(0.0, ge=0, description="Brier penalty weight when a completion states "
                                      "'Confidence: p'; 0 turns it off")

    @model_validator(mode="after")
    def _check(self) -> RLConfig:
        if not self.system_prompt.strip():
            raise ValueError("system_prompt must not be empty")
        return self

    @property
    def batch_size(self) -> int:
        """Completions per step: every prompt is sampled `num_generations` times, so TRL's divisibility holds."""
        return self.prompts_per_step * self.num_generations

    @property
    def out_path(self) -> Path:
        return Path(self.output_dir).expanduser()


@dataclass(frozen=True)
class RLResult:
    run_id: str | None
    output_dir: Path
    adapter_dir: Path
    steps: list[dict[str, float]] = field(default_factory=list)  # one entry per logged step: step, reward, ...
    resumed_from: str | None = None
    device: str = "cpu"
    checkpoints: list[str] = field(default_factory=list)  # checkpoint folders still on disk, by step

    @property
    def rewards(self) -> list[float]:
        return [s["reward"] for s in self.steps if "reward" in s]

    def summary(self) -> dict[str, Any]:
        return {"steps": self.steps, "rewards": self.rewards, "adapter_dir": str(self.adapter_dir),
                "output_dir": str(self.output_dir), "resumed_from": self.resumed_from, "device": self.device,
                "checkpoints": self.checkpoints}
