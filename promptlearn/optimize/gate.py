"""The acceptance gate: a candidate replaces the current playbook only when its gain on the same validation
examples survives the noise, and not when the gain comes from collapsing answers onto one label."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from promptlearn.quality.calibration import brier_regression
from promptlearn.stats import mcnemar_exact, paired_bootstrap


@dataclass(frozen=True)
class GateResult:
    accepted: bool
    diff: float
    low: float
    high: float
    p_value: float
    n: int
    wins: int
    losses: int
    reason: str
    close: bool = False  # positive but not significant: worth more examples


def reject(result: GateResult, reason: str) -> GateResult:
    """The same measurements, rejected for `reason` (a collapse, a calibration or out-of-domain regression)."""
    return replace(result, accepted=False, close=False, reason=reason)


class Stated(Protocol):
    @property
    def confidence(self) -> float | None: ...

    @property
    def correct(self) -> bool: ...


def calibration_gate(result: GateResult, base: Sequence[Stated], cand: Sequence[Stated], confidence: float,
                     seed: int) -> GateResult:
    """`quality.calibration_gate`: an accepted candidate is rejected when its val Brier score is worse than the
    baseline's beyond noise (paired over the examples where both stated a confidence)."""
    if not result.accepted:
        return result
    worse = brier_regression([(r.confidence, r.correct) for r in base], [(r.confidence, r.correct) for r in cand],
                             confidence, seed)
    return reject(result, worse) if worse else result


def label_collapse(answers: Sequence[str | None], targets: Sequence[str], max_share: float) -> str | None:
    """A reason if one answer dominates the outputs beyond `max_share` and beyond its share of the targets."""
    given = [a for a in answers if a is not None]
    if not given:
        return None
    label, count = Counter(given).most_common(1)[0]
    share = count / len(answers)
    target_share = sum(t.strip().lower() == str(label).strip().lower() for t in targets) / max(1, len(targets))
    if share > max_share and share > target_share + 0.1:
        return f"answers collapsed onto '{label}' ({share:.0%} of answers vs {target_share:.0%} of targets)"
    return None


def decide(baseline: Sequence[float], candidate: Sequence[float], *, method: str = "bootstrap",
           confidence: float = 0.9, min_gain: float = 0.0, seed: int = 0) -> GateResult:
    """Paired comparison on identical examples. `method='none'` accepts anything (the ungated ablations)."""
    paired = paired_bootstrap(baseline, candidate, confidence=2 * confidence - 1, seed=seed)
    # A two-sided interval at 2c-1 has a one-sided lower bound at level c.

    def result(accepted: bool, p_value: float, reason: str, close: bool = False) -> GateResult:
        return GateResult(accepted, paired.diff, paired.low, paired.high, p_value, paired.n, paired.wins,
                          paired.losses, reason, close)

    if method == "none":
        return result(True, paired.p_value, "ungated: accepted without a test")
    if method == "mcnemar":
        p_value = mcnemar_exact(paired.wins, paired.losses)
        significant = p_value <= 1 - confidence and paired.diff > min_gain
    else:
        # The bootstrap alone is anti-conservative when few examples differ (3 wins of 3 gives a lower bound > 0);
        # the exact sign test on the discordant pairs guards that case.
        p_value = max(paired.p_value, mcnemar_exact(paired.wins, paired.losses))
        significant = paired.low > min_gain and p_value <= 1 - confidence
    if significant:
        reason = f"gain {paired.diff:+.3f}, lower bound {paired.low:+.3f} > {min_gain} (p={p_value:.3f})"
        return result(True, p_value, reason)
    close = paired.diff > min_gain
    reason = (f"gain {paired.diff:+.3f} not significant (lower bound {paired.low:+.3f}, p={p_value:.3f}, "
              f"{paired.wins} wins / {paired.losses} losses)")
    return result(False, p_value, reason, close)
