"""Small-sample statistics for prompt evaluation: intervals, paired tests, calibration.

Pure Python (no numpy) because the numbers involved are tiny (tens to a few thousand examples) and the
results must be bit-for-bit reproducible from a seed on any machine.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval over `n` observations."""

    estimate: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.estimate:.2f} [{self.low:.2f}, {self.high:.2f}] (n={self.n})"

    def as_dict(self, estimate: str) -> dict[str, float]:
        """`{estimate: ..., "low", "high", "n"}`, the estimate under the name the caller's table uses."""
        return {estimate: self.estimate, "low": self.low, "high": self.high, "n": self.n}


@dataclass(frozen=True)
class PairedResult:
    """Mean of `b - a` over the same examples, its interval, and a one-sided p-value that b beats a."""

    diff: float
    low: float
    high: float
    n: int
    p_value: float
    wins: int
    losses: int

    def __str__(self) -> str:
        return (
            f"{self.diff:+.3f} [{self.low:+.3f}, {self.high:+.3f}] (n={self.n}, p={self.p_value:.3g}, "
            f"wins={self.wins}, losses={self.losses})"
        )

    def as_dict(self) -> dict[str, float]:
        return {"diff": self.diff, "low": self.low, "high": self.high, "p_value": self.p_value, "n": self.n,
                "wins": self.wins, "losses": self.losses}


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")


def _is_binary(values: Sequence[float]) -> bool:
    return all(v == 0 or v == 1 for v in values)


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 1]) of an already sorted, non-empty sequence."""
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return sorted_values[lo] * (1 - frac) + sorted_values[hi] * frac


def _bootstrap_means(values: Sequence[float], n_boot: int, seed: int) -> list[float]:
    """Sorted means of `n_boot` resamples with replacement; a local RNG keeps callers' random state untouched."""
    rng = random.Random(seed)
    n = len(values)
    return sorted(math.fsum(rng.choices(values, k=n)) / n for _ in range(n_boot))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval: unlike the normal approximation it stays inside [0, 1] and behaves at p=0 or 1."""
    _check_confidence(confidence)
    if n == 0:
        return Interval(0.0, 0.0, 0.0, 0)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At p = 0 or 1 the bound is exactly 0 or 1 analytically; pin it so rounding cannot leave 1e-17.
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return Interval(p, low, high, n)


def mean(values: Sequence[float]) -> float:
    """The plain average; 0.0 for no values (an empty split or cell scores nothing)."""
    return sum(values) / len(values) if values else 0.0


def mean_ci(values: Sequence[float], confidence: float = 0.95, n_boot: int = 2000, seed: int = 0) -> Interval:
    """Mean with a confidence interval: Wilson for 0/1 scores, percentile bootstrap otherwise."""
    _check_confidence(confidence)
    n = len(values)
    if n == 0:
        return Interval(0.0, 0.0, 0.0, 0)
    values = [float(v) for v in values]
    if _is_binary(values):
        return wilson_interval(int(sum(values)), n, confidence)
    estimate = math.fsum(values) / n
    means = _bootstrap_means(values, n_boot, seed)
    alpha = 1 - confidence
    low, high = _percentile(means, alpha / 2), _percentile(means, 1 - alpha / 2)
    # With a handful of skewed values the percentile bounds can exclude the sample mean; widen so they don't.
    return Interval(estimate, min(low, estimate), max(high, estimate), n)


def two_sided(one_sided: float) -> float:
    """The two-sided interval level whose lower bound is a one-sided bound at `one_sided` (0.9 -> 0.8): the gate's
    `confidence` is one-sided, every interval it is compared with is computed at this level."""
    return 2 * one_sided - 1


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95, n_boot: int = 5000, seed: int = 0
) -> PairedResult:
    """Paired bootstrap of mean(b - a); `a[i]` and `b[i]` must score the same example.

    Pairing removes the per-example difficulty from the variance, which is what makes small validation
    sets usable for accepting or rejecting a candidate prompt.
    """
    if len(a) != len(b):
        raise ValueError(f"paired_bootstrap needs equal lengths, got {len(a)} and {len(b)}")
    _check_confidence(confidence)
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    diffs = [float(y) - float(x) for x, y in zip(a, b, strict=True)]
    wins = sum(d > 0 for d in diffs)
    losses = sum(d < 0 for d in diffs)
    n = len(diffs)
    if n == 0:
        return PairedResult(0.0, 0.0, 0.0, 0, 1.0, 0, 0)
    diff = math.fsum(diffs) / n
    means = _bootstrap_means(diffs, n_boot, seed)
    alpha = 1 - confidence
    low, high = _percentile(means, alpha / 2), _percentile(means, 1 - alpha / 2)
    # A p-value of exactly 0 would overstate what n_boot resamples can show.
    p_value = max(sum(m <= 0 for m in means) / n_boot, 1 / n_boot)
    return PairedResult(diff, low, high, n, p_value, wins, losses)


def mcnemar_exact(wins: int, losses: int) -> float:
    """One-sided exact McNemar test: P(X >= wins) for X ~ Binomial(wins + losses, 1/2).

    Ties (both right or both wrong) carry no information about which prompt is better, so only the
    discordant pairs count.
    """
    if wins < 0 or losses < 0:
        raise ValueError(f"wins and losses must be non-negative, got {wins} and {losses}")
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(wins, n + 1))
    # Integer arithmetic until the last step keeps large n exact.
    return tail / 2**n


def _check_calibration_inputs(confidences: Sequence[float], correct: Sequence[float | bool]) -> None:
    if len(confidences) != len(correct):
        raise ValueError(f"confidences and correct differ in length: {len(confidences)} vs {len(correct)}")
    bad = [c for c in confidences if not 0.0 <= c <= 1.0]
    if bad:
        raise ValueError(f"confidences must lie in [0, 1], got {bad[0]}")


def brier(confidences: Sequence[float], correct: Sequence[float | bool]) -> float:
    """Mean squared error between stated confidence and the 0/1 outcome (0 is perfect; 0 for no data)."""
    _check_calibration_inputs(confidences, correct)
    if not confidences:
        return 0.0
    return math.fsum((c - float(y)) ** 2 for c, y in zip(confidences, correct, strict=True)) / len(confidences)


def ece(confidences: Sequence[float], correct: Sequence[float | bool], bins: int = 10) -> float:
    """Expected calibration error over equal-width bins: sum of |accuracy - confidence| weighted by bin size."""
    _check_calibration_inputs(confidences, correct)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if not confidences:
        return 0.0
    groups: dict[int, list[tuple[float, float]]] = {}
    for c, y in zip(confidences, correct, strict=True):
        # Confidence 1.0 belongs to the top bin rather than a bin of its own.
        groups.setdefault(min(int(c * bins), bins - 1), []).append((c, float(y)))
    total = len(confidences)
    err = 0.0
    for members in groups.values():
        acc = math.fsum(y for _, y in members) / len(members)
        conf = math.fsum(c for c, _ in members) / len(members)
        err += abs(acc - conf) * len(members) / total
    return err


def majority_baseline(targets: Sequence[str]) -> tuple[str, float]:
    """The most common target and the accuracy of always answering it; ties go to the smallest label."""
    if not targets:
        return "", 0.0
    counts = Counter(targets)
    label = min(counts, key=lambda t: (-counts[t], t))
    return label, counts[label] / len(targets)
