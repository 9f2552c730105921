"""More than one objective: accuracy, mean prompt tokens, cost and latency per rollout of every validated version.

Accuracy comes from the version's val scores; tokens, cost and latency from the LM calls that made its val
rollouts (a cached call keeps what the original call measured, so a resumed run reads the same numbers). Latency
is reported, never used for a decision: a resumed run must repeat every decision, and latency does not repeat.

The *objective frontier* is the set of versions no other version beats on every objective at once (more accurate,
fewer tokens, cheaper); it is a different thing from the per-example frontier of optimize/frontier.py, which
compares versions example by example on accuracy alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from promptlearn.config import Objective, ObjectiveConfig

DECIDING = ("accuracy", "prompt_tokens", "cost_usd")  # what the frontier, the weights and the limits may use
LOWER_IS_BETTER = frozenset({"prompt_tokens", "cost_usd", "latency_s"})


@dataclass(frozen=True)
class Objectives:
    accuracy: float
    prompt_tokens: float  # mean per val rollout
    cost_usd: float  # mean per val rollout
    latency_s: float  # mean per val rollout: reported only
    n: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_usage(cls, accuracy: float, usage: Mapping[str, Any]) -> Objectives:
        return cls(accuracy, float(usage["prompt_tokens"]), float(usage["cost_usd"]), float(usage["latency_s"]),
                   int(usage["n"]))


def limit_reason(objectives: Objectives, cfg: ObjectiveConfig) -> str | None:
    """Why a candidate breaks the config's limits (`objective.max_prompt_tokens`, `objective.max_cost_usd`)."""
    if cfg.max_prompt_tokens is not None and objectives.prompt_tokens > cfg.max_prompt_tokens:
        return (f"rejected: {objectives.prompt_tokens:.0f} prompt tokens per rollout, over the limit of "
                f"{cfg.max_prompt_tokens} (objective.max_prompt_tokens)")
    if cfg.max_cost_usd is not None and objectives.cost_usd > cfg.max_cost_usd:
        return (f"rejected: ${objectives.cost_usd:.6f} per rollout, over the limit of ${cfg.max_cost_usd} "
                "(objective.max_cost_usd)")
    return None


def weighted(values: Mapping[str, float], weights: Mapping[Objective, float]) -> float:
    """The weighted sum of the objectives: accuracy counts up, tokens and cost count down."""
    return sum(w * (-values[k] if k in LOWER_IS_BETTER else values[k]) for k, w in sorted(weights.items()))


def _better_or_equal(a: Mapping[str, float], b: Mapping[str, float], key: str) -> bool:
    return a[key] <= b[key] if key in LOWER_IS_BETTER else a[key] >= b[key]


def dominates(a: Mapping[str, float], b: Mapping[str, float], keys: Sequence[str] = DECIDING) -> bool:
    """`a` is at least as good as `b` on every objective and better on one."""
    return all(_better_or_equal(a, b, k) for k in keys) and any(a[k] != b[k] for k in keys)


def objective_front(points: Mapping[int, Mapping[str, float]], keys: Sequence[str] = DECIDING) -> list[int]:
    """The versions no other version dominates on accuracy, prompt tokens and cost."""
    return sorted(v for v, p in points.items()
                  if not any(dominates(o, p, keys) for w, o in points.items() if w != v))
