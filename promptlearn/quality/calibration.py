"""Stated confidence: how to ask for it, how to read it back, and how good it is (Brier score, ECE).

The task model is asked to end its answer with a line `Confidence: <0..1>`. The line is read back and removed
before the scorer sees the answer, so asking for confidence never changes what counts as correct.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE_INSTRUCTION = (
    "After your answer, on a new last line, write `Confidence: p` where p is the probability (0 to 1) "
    "that your answer is correct."
)

_LINE = re.compile(r"(?im)^\W*confidence\W*[:=]?\s*(\d{1,3}(?:\.\d+)?)\s*(%?)\W*$")


@dataclass(frozen=True)
class Stated:
    answer: str  # the reply with the confidence line removed
    confidence: float | None  # in [0, 1]; None when the model stated none (or nonsense)


def split_confidence(reply: str) -> Stated:
    """The last `Confidence: 0.8` (or `80%`) line of a reply, and the reply without it."""
    matches = list(_LINE.finditer(reply))
    if not matches:
        return Stated(reply, None)
    last = matches[-1]
    value = float(last.group(1))
    if last.group(2) == "%" or value > 1.0:
        value = value / 100.0
    answer = (reply[: last.start()] + reply[last.end():]).strip()
    return Stated(answer, value if 0.0 <= value <= 1.0 else None)


def brier_score(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """Mean squared gap between stated confidence and the 0/1 outcome: 0 is perfect, 0.25 is always-0.5."""
    _check(confidences, correct)
    return sum((c - float(ok)) ** 2 for c, ok in zip(confidences, correct, strict=True)) / len(confidences)


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Weighted mean |accuracy - confidence| over equal-width confidence bins (the usual 10-bin ECE)."""
    _check(confidences, correct)
    buckets: dict[int, list[tuple[float, bool]]] = {}
    for c, ok in zip(confidences, correct, strict=True):
        buckets.setdefault(min(int(c * bins), bins - 1), []).append((c, ok))
    total = len(confidences)
    gap = 0.0
    for members in buckets.values():
        mean_conf = sum(c for c, _ in members) / len(members)
        accuracy = sum(1 for _, ok in members if ok) / len(members)
        gap += len(members) / total * abs(accuracy - mean_conf)
    return gap


def _check(confidences: Sequence[float], correct: Sequence[bool]) -> None:
    if not confidences or len(confidences) != len(correct):
        raise ValueError("calibration needs as many confidences as outcomes, and at least one")
