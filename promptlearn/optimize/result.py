"""What an optimization run returns: seed vs final on the untouched test split, and where each rule came from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from promptlearn.evaluate import EvalResult
from promptlearn.playbook import Playbook
from promptlearn.stats import PairedResult, paired_bootstrap


def seed_to_final_difference(seed_scores: list[float], final_scores: list[float]) -> PairedResult:
    """Final minus seed, paired over the same test examples; empty (no difference) when they are not the same set."""
    paired = len(seed_scores) == len(final_scores)
    return paired_bootstrap(seed_scores if paired else [], final_scores if paired else [])


@dataclass(frozen=True)
class OptimizeResult:
    run_id: str
    stop_reason: str
    seed: Playbook
    final: Playbook
    final_version: int
    seed_test: EvalResult
    final_test: EvalResult
    seed_val: float
    final_val: float
    test_diff: PairedResult
    iterations: int
    rollouts: int
    spend: dict[str, dict[str, float]] = field(default_factory=dict)
    frontier: list[int] = field(default_factory=list)
    trust: dict[str, dict[str, float]] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)  # provider faults retried: {"retries", "by_kind"}
    learning: dict[str, Any] = field(default_factory=dict)  # difficulty histogram, ablation log (quality/)
    # Calibration, capability cliffs, reward hacking (quality/); each stays empty, and out of the summary, when off.
    calibration: dict[str, Any] = field(default_factory=dict)  # Brier / ECE of seed and final on test and val
    ood: dict[str, Any] = field(default_factory=dict)  # out-of-domain accuracy of the seed and accepted versions
    flags: list[dict[str, Any]] = field(default_factory=list)  # reward-hacking smells (bullets, audits)
    audits: list[dict[str, Any]] = field(default_factory=list)  # a second judge on each accepted gain
    # Accuracy, prompt tokens, cost, latency per val rollout of each validated version, and their frontier.
    objectives: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        """The tuned system prompt, ready to paste into an application."""
        return self.final.render()

    def summary(self) -> dict[str, Any]:
        quality = {"calibration": self.calibration, "ood": self.ood, "flags": self.flags, "audits": self.audits}
        return {**{key: value for key, value in quality.items() if value},
            "stop_reason": self.stop_reason, "final_version": self.final_version, "iterations": self.iterations,
            "rollouts": self.rollouts, "seed_test": self.seed_test.summary(), "final_test": self.final_test.summary(),
            "seed_val": self.seed_val, "final_val": self.final_val,
            "test_diff": {"diff": self.test_diff.diff, "low": self.test_diff.low, "high": self.test_diff.high,
                          "wins": self.test_diff.wins, "losses": self.test_diff.losses},
            "bullets": len(self.final.bullets), "spend": self.spend, "frontier": self.frontier, "trust": self.trust,
            "faults": self.faults, "learning": self.learning, "objectives": self.objectives,
        }

    def summary_json(self) -> str:
        return json.dumps(self.summary(), sort_keys=True, default=str)
