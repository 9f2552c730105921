"""The acceptance gate: a candidate replaces the current playbook only when its gain on the same validation
examples survives the noise, and not when the gain comes from collapsing answers onto one label."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from promptlearn.quality.calibration import brier_regression
from promptlearn.stats import mcnemar_exact, paired_bootstrap, two_sided


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


class ScoredWithConfidence(Protocol):
    """A scored rollout with the confidence its model stated (RolloutResult)."""

    @property
    def confidence(self) -> float | None: ...

    @property
    def correct(self) -> bool: ...


def calibration_gate(result: GateResult, base: Sequence[ScoredWithConfidence], cand: Sequence[ScoredWithConfidence],
                     confidence: float, seed: int) -> GateResult:
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


def decide(baseline: Sequence[float], candidate: Sequence[float], *, method: str, confidence: float,
           min_gain: float, seed: int) -> GateResult:
    """Paired comparison on identical examples. `method='none'` accepts anything (the ungated ablations)."""
    paired = paired_bootstrap(baseline, candidate, confidence=two_sided(confidence), seed=seed)
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
        reason = (f"gain {paired.diff:+.3f}, lower bound {paired.low:+.3f} > {min_gain} "
                  f"(p={p_value:.3f} <= {1 - confidence:.3f})")
        return result(True, p_value, reason)
    close = paired.diff > min_gain
    # The level is stated: under alpha spending it is stricter than gate.confidence, and a positive lower bound
    # beside a rejection (the sign test failed) is otherwise a puzzle.
    reason = (f"gain {paired.diff:+.3f} not significant at p<={1 - confidence:.3f} (lower bound {paired.low:+.3f}, "
              f"p={p_value:.3f}, {paired.wins} wins / {paired.losses} losses)")
    return result(False, p_value, reason, close)


def non_inferior(baseline: Sequence[float], candidate: Sequence[float], *, method: str, confidence: float,
                 margin: float, seed: int) -> GateResult:
    """Not worse, for less: a removal, an expiry or a cheaper playbook cannot show a gain, so it is accepted when
    its loss is within `margin`. H0: mean(candidate - baseline) <= -margin; rejected (the candidate accepted) when
    the one-sided lower bound at `confidence` of the paired difference is above -margin. The p-value is the share
    of bootstrap means at or below -margin."""
    paired = paired_bootstrap(baseline, candidate, confidence=two_sided(confidence), seed=seed)
    # The same resamples (same seed) with the margin added: its p-value is the share of means at or below -margin.
    p_value = paired_bootstrap(baseline, [c + margin for c in candidate], confidence=two_sided(confidence),
                               seed=seed).p_value

    def result(accepted: bool, reason: str) -> GateResult:
        return GateResult(accepted, paired.diff, paired.low, paired.high, p_value, paired.n, paired.wins,
                          paired.losses, reason)

    if method == "none":
        return result(True, "ungated: accepted without a test")
    if paired.n and paired.low > -margin and p_value <= 1 - confidence:
        return result(True, f"not worse: change {paired.diff:+.3f}, lower bound {paired.low:+.3f} > -{margin} "
                            f"(non-inferiority, p={p_value:.3f})")
    return result(False, f"may be worse: change {paired.diff:+.3f}, lower bound {paired.low:+.3f} <= -{margin} "
                         f"(non-inferiority, p={p_value:.3f}, {paired.wins} wins / {paired.losses} losses)")


def total_variation(answers: Sequence[str | None], targets: Sequence[str]) -> float:
    """Half the L1 distance between the answer distribution and the target distribution (unparsed answers are a
    label of their own): 0 when the answers are spread like the targets, 1 when they share no label."""
    def dist(values: Sequence[str | None]) -> Counter[str]:
        return Counter("(unparsed)" if v is None else str(v).strip().lower() for v in values)

    a, t = dist(answers), dist(targets)
    n_a, n_t = max(1, len(answers)), max(1, len(targets))
    # A fixed order: the same float sum in every process.
    return 0.5 * sum(abs(a[k] / n_a - t[k] / n_t) for k in sorted(set(a) | set(t)))


def label_drift(base: Sequence[str | None], cand: Sequence[str | None], targets: Sequence[str], confidence: float,
                seed: int, n_boot: int = 1000) -> str | None:
    """A reason when the candidate's answers move away from the targets' distribution beyond sampling noise
    (a paired bootstrap over the examples of TV(candidate) - TV(baseline), one-sided at `confidence`). A gain that
    comes from leaning on one label is not a gain."""
    n = len(targets)
    if n == 0 or len(base) != n or len(cand) != n:
        return None
    observed = total_variation(cand, targets) - total_variation(base, targets)
    if observed <= 0:
        return None
    rng = random.Random(seed)
    grew = 0
    for _ in range(n_boot):
        idx = [rng.randrange(n) for _ in range(n)]
        t = [targets[i] for i in idx]
        grew += total_variation([cand[i] for i in idx], t) - total_variation([base[i] for i in idx], t) > 0
    if grew / n_boot >= confidence:
        return (f"answers drift away from the targets' label distribution (total variation "
                f"{total_variation(base, targets):.2f} -> {total_variation(cand, targets):.2f})")
    return None


def spent_confidence(confidence: float, k: int) -> float:
    """Alpha spending over the candidates validated on the same validation set: the k-th (1-based) is tested at
    alpha / 2^k, so the chance that any false candidate passes stays within alpha however many are tried (the
    series sums to alpha). Geometric rather than 6/(pi^2 k^2): the second and third candidates keep a usable
    level (alpha/4, alpha/8) at the price of the first (alpha/2 instead of 0.61 alpha)."""
    return 1 - (1 - confidence) / 2 ** k


def could_pass(result: GateResult, confidence: float) -> bool:
    """Whether the exact sign test on the result's discordant pairs could reach `confidence` had every one been a
    win. When it could not, the test has size zero given those pairs, so it spends none of the alpha (Tarone's
    refinement, 1990): a candidate that changes 4 answers cannot pass at alpha/2 = 0.05, and the next one keeps
    the level it would have had. The gain test only; a non-inferiority test can accept a change of no answer."""
    return mcnemar_exact(result.wins + result.losses, 0) <= 1 - confidence
