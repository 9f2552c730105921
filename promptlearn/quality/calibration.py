"""Stated confidence: how to ask for it, how to read it back, and how good it is (Brier score, ECE).

The task model is asked to end its answer with a line `Confidence: <0..1>`. The line is read back and removed
before the scorer sees the answer, so asking for confidence never changes what counts as correct.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from promptlearn.stats import brier, ece, paired_bootstrap, two_sided

CONFIDENCE_INSTRUCTION = (
    "After your answer, on a new last line, write `Confidence: p` where p is the probability (0 to 1) "
    "that your answer is correct."
)

# The default way to ask: a second turn after the answer, so the answer itself is produced exactly as without
# calibration. Small models given the inline instruction often reply with only the confidence line (seen with
# Qwen2.5-0.5B on BIG-Bench-Hard: "Confidence: 0.8" and no answer).
FOLLOWUP_QUESTION = ("How likely is it that your answer above is correct? Reply with only a probability between "
                     "0 and 1, like 0.7.")
FOLLOWUP_MAX_TOKENS = 8

_NUMBER = re.compile(r"(\d{1,3}(?:\.\d+)?|\.\d+)\s*(%?)")

_LINE = re.compile(r"(?im)^\W*confidence\W*[:=]?\s*(\d{1,3}(?:\.\d+)?)\s*(%?)\W*$")


@dataclass(frozen=True)
class AnswerWithConfidence:
    """A reply split into the answer the scorer sees and the confidence the model stated with it."""

    answer: str  # the reply with the confidence line removed
    confidence: float | None  # in [0, 1]; None when the model stated none (or nonsense)


def split_confidence(reply: str) -> AnswerWithConfidence:
    """The last `Confidence: 0.8` (or `80%`) line of a reply, and the reply without it."""
    matches = list(_LINE.finditer(reply))
    if not matches:
        return AnswerWithConfidence(reply, None)
    last = matches[-1]
    value = float(last.group(1))
    if last.group(2) == "%" or value > 1.0:
        value = value / 100.0
    answer = (reply[: last.start()] + reply[last.end():]).strip()
    return AnswerWithConfidence(answer, value if 0.0 <= value <= 1.0 else None)


def read_probability(reply: str) -> float | None:
    """The first number of a follow-up reply as a probability: `0.7`, `.7`, `70%` or `70` (a percentage)."""
    match = _NUMBER.search(reply)
    if not match:
        return None
    value = float(match.group(1))
    if match.group(2) == "%" or value > 1.0:
        value = value / 100.0
    return value if 0.0 <= value <= 1.0 else None


MISSING_NOTE = "rollouts without a stated confidence are left out of Brier and ECE, not counted as 0.5"


def calibration_summary(confidences: Sequence[float | None], correct: Sequence[bool], seed: int = 0,
                        n_boot: int = 1000) -> dict[str, float | int | None]:
    """Brier score and ECE over the rollouts that stated a confidence, each with a 95% bootstrap interval
    (resampling examples). `n` counts all rollouts, `stated` those with a confidence; with none stated the
    measures are None rather than a made-up 0.5."""
    pairs = [(c, ok) for c, ok in zip(confidences, correct, strict=True) if c is not None]
    out: dict[str, float | int | None] = {"n": len(correct), "stated": len(pairs), "brier": None, "brier_low": None,
                                          "brier_high": None, "ece": None, "ece_low": None, "ece_high": None}
    if not pairs:
        return out
    for name, measure in (("brier", brier), ("ece", ece)):
        value, low, high = _with_interval(pairs, measure, seed, n_boot)
        out.update({name: value, f"{name}_low": low, f"{name}_high": high})
    return out


def _with_interval(pairs: list[tuple[float, bool]], measure: Callable[[Sequence[float], Sequence[bool]], float],
                   seed: int, n_boot: int) -> tuple[float, float, float]:
    value = measure([c for c, _ in pairs], [ok for _, ok in pairs])
    rng = random.Random(seed)
    draws = []
    for _ in range(n_boot):
        sample = rng.choices(pairs, k=len(pairs))
        draws.append(measure([c for c, _ in sample], [ok for _, ok in sample]))
    draws.sort()
    low, high = draws[int(0.025 * (n_boot - 1))], draws[int(round(0.975 * (n_boot - 1)))]
    # Percentile bounds of a skewed statistic can miss the point estimate on tiny samples; keep it inside.
    return value, min(low, value), max(high, value)


def brier_regression(base: Sequence[tuple[float | None, bool]], cand: Sequence[tuple[float | None, bool]],
                     confidence: float, seed: int) -> str | None:
    """A rejection reason when the candidate's Brier score is worse than the baseline's beyond noise: a paired
    bootstrap of per-example squared errors over the examples where both stated a confidence, at the gate's
    one-sided level. None when it is not worse, or when too few examples have both confidences to tell."""
    pairs = [((bc - float(bok)) ** 2, (cc - float(cok)) ** 2)
             for (bc, bok), (cc, cok) in zip(base, cand, strict=True) if bc is not None and cc is not None]
    if len(pairs) < 2:
        return None
    paired = paired_bootstrap([b for b, _ in pairs], [c for _, c in pairs], confidence=two_sided(confidence), seed=seed)
    if paired.low <= 0:
        return None
    before = sum(b for b, _ in pairs) / len(pairs)
    return (f"rejected: val Brier score worse beyond noise ({before:.3f} -> {before + paired.diff:.3f}, "
            f"diff {paired.diff:+.3f}, lower bound {paired.low:+.3f} > 0 over {paired.n} examples where both "
            "stated a confidence)")
