"""Reward functions for GRPO built from the same scorers prompt learning uses, so both optimize one metric.

A reward function has TRL's shape: `(prompts, completions, **kwargs) -> list[float]`, where the dataset's other
columns (`target`, `input`, `example_id`) arrive as lists in kwargs. No torch here: this module is plain Python.

Calibration: when a completion states a confidence ("Confidence: 0.8", "confidence = 80%") and the weight is above
0, the reward is `score - weight * (confidence - score) ** 2` (a Brier penalty), which keeps binary rewards from
teaching the model to be sure of everything. The statement is removed before scoring, so its number never counts
as the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from promptlearn.data.datasets import Example
from promptlearn.data.scorers import Scorer
from promptlearn.errors import ConfigError

RewardFn = Callable[..., list[float]]

_CONFIDENCE = re.compile(
    r"\bconfidence(?:\s+(?:level|score))?\s*(?:is\s*)?[:=]?\s*(\d+(?:\.\d+)?|\.\d+)\s*(%)?", re.IGNORECASE
)


@dataclass(frozen=True)
class Reward:
    value: float
    score: float
    confidence: float | None
    reason: str


def parse_confidence(text: str) -> tuple[float | None, str]:
    """(the last stated confidence in [0, 1], the text without confidence statements); None when none is valid."""
    matches = list(_CONFIDENCE.finditer(text))
    if not matches:
        return None, text
    stripped = _CONFIDENCE.sub("", text)
    number, percent = matches[-1].group(1), matches[-1].group(2)
    value = float(number)
    if percent or 1 < value <= 100:
        value /= 100  # "80%" and "Confidence: 80" both mean 0.8
    return (value if 0.0 <= value <= 1.0 else None), stripped


def completion_text(completion: Any) -> str:
    """A completion as text: TRL passes a string, or for chat prompts a list of messages ending with the reply."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, Sequence):
        replies = [m for m in completion if isinstance(m, dict) and m.get("role", "assistant") == "assistant"]
        return "".join(str(m.get("content") or "") for m in replies)
    return "" if completion is None else str(completion)


def reward_for(scorer: Scorer, output: str, example: Example, calibration_weight: float = 0.0) -> Reward:
    """Score one output; subtract the Brier term when a confidence is stated and the weight is above 0."""
    confidence, text = parse_confidence(output) if calibration_weight > 0 else (None, output)
    score = scorer(text, example)
    if confidence is None:
        return Reward(score.value, score.value, None, score.reason)
    penalty = calibration_weight * (confidence - score.value) ** 2
    return Reward(score.value - penalty, score.value, confidence,
                  f"{score.reason}; confidence {confidence:.2f}, Brier penalty {penalty:.3f}")


def _column(kwargs: dict[str, Any], name: str, n: int, required: bool) -> list[Any]:
    values = kwargs.get(name)
    if values is None:
        if required:
            raise ConfigError(f"reward function: the dataset has no '{name}' column; add one (it reaches the reward "
                              "function as a keyword argument)")
        return [None] * n
    values = list(values)
    if len(values) != n:
        raise ConfigError(f"reward function: column '{name}' has {len(values)} values for {n} completions")
    return values


def scorer_reward(scorer: Scorer, *, calibration_weight: float = 0.0,
                  on_batch: Callable[[list[Reward]], None] | None = None) -> RewardFn:
    """A TRL reward function scoring each completion against its row's `target` (and `input`) with `scorer`.

    `on_batch` sees every batch's `Reward`s, e.g. to log them; TRL's `log_metric` gets the mean score too.
    """
    if calibration_weight < 0:
        raise ConfigError(f"calibration_weight must be >= 0, got {calibration_weight}")

    def reward(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
        n = len(completions)
        targets = _column(kwargs, "target", n, required=True)
        inputs = _column(kwargs, "input", n, required=False)
        ids = _column(kwargs, "example_id", n, required=False)
        results = []
        for i, completion in enumerate(completions):
            example = Example(id=str(ids[i] or f"row{i}"), input=str(inputs[i] or ""), target=str(targets[i]))
            results.append(reward_for(scorer, completion_text(completion), example, calibration_weight))
        _report(results, kwargs.get("log_metric"), on_batch)
        return [r.value for r in results]

    reward.__name__ = "score_" + re.sub(r"\W+", "_", scorer.name).strip("_")
    return reward


def _report(results: list[Reward], log_metric: Any, on_batch: Callable[[list[Reward]], None] | None) -> None:
    if on_batch is not None:
        on_batch(results)
    if callable(log_metric) and results:
        log_metric("score", sum(r.score for r in results) / len(results))
        stated = [r for r in results if r.confidence is not None]
        log_metric("confidence_stated", len(stated) / len(results))
