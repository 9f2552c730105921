import math
import random

import pytest

from promptlearn.stats import (
    Interval,
    brier,
    ece,
    majority_baseline,
    mcnemar_exact,
    mean_ci,
    paired_bootstrap,
    wilson_interval,
)


def _width(interval: Interval) -> float:
    return interval.high - interval.low


# --- mean_ci -----------------------------------------------------------------------------------------------


def test_wilson_matches_published_value_for_8_of_10():
    ci = mean_ci([1] * 8 + [0] * 2)
    assert ci.estimate == pytest.approx(0.8)
    # Wilson 95% interval for 8/10 (e.g. Newcombe 1998): 0.490 to 0.943.
    assert ci.low == pytest.approx(0.4902, abs=1e-3)
    assert ci.high == pytest.approx(0.9433, abs=1e-3)
    assert ci.n == 10


def test_wilson_stays_inside_unit_interval_at_extremes():
    all_right = mean_ci([1] * 5)
    all_wrong = mean_ci([0] * 5)
    assert all_right.estimate == 1.0 and all_right.high == 1.0 and all_right.low < 1.0
    assert all_wrong.estimate == 0.0 and all_wrong.low == 0.0 and all_wrong.high > 0.0


def test_booleans_count_as_binary():
    assert mean_ci([True, False, True, True]) == wilson_interval(3, 4)


def _binary(n: int) -> list[float]:
    return [1.0] * (n * 6 // 10) + [0.0] * (n * 4 // 10)


def _graded(n: int) -> list[float]:
    return [0.25, 0.5, 0.75, 1.0] * (n // 4)


@pytest.mark.parametrize("make", [_binary, _graded])
def test_interval_contains_estimate_and_shrinks_with_n(make):
    small, large = mean_ci(make(40)), mean_ci(make(400))
    for ci in (small, large):
        assert ci.low <= ci.estimate <= ci.high
    assert small.estimate == pytest.approx(large.estimate)
    assert _width(large) < _width(small) / 2


def test_bootstrap_is_reproducible_by_seed_and_varies_across_seeds():
    rng = random.Random(1)
    values = [rng.random() for _ in range(30)]
    assert mean_ci(values, seed=3) == mean_ci(values, seed=3)
    assert mean_ci(values, seed=3).low != mean_ci(values, seed=4).low


def test_bootstrap_interval_roughly_matches_normal_theory():
    rng = random.Random(0)
    values = [rng.gauss(0.5, 0.1) for _ in range(200)]
    ci = mean_ci(values)
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    half = 1.96 * sd / math.sqrt(len(values))
    assert ci.estimate == pytest.approx(mean)
    assert _width(ci) == pytest.approx(2 * half, rel=0.15)


def test_empty_input_gives_zero_interval():
    assert mean_ci([]) == Interval(0.0, 0.0, 0.0, 0)


def test_single_value():
    ci = mean_ci([0.3])
    assert (ci.estimate, ci.low, ci.high, ci.n) == (pytest.approx(0.3), pytest.approx(0.3), pytest.approx(0.3), 1)


def test_interval_str():
    assert str(Interval(0.625, 0.4812, 0.75, 40)) == "0.62 [0.48, 0.75] (n=40)"


def test_bad_confidence_raises():
    with pytest.raises(ValueError):
        mean_ci([1, 0], confidence=1.5)


# --- paired_bootstrap --------------------------------------------------------------------------------------


def test_paired_bootstrap_detects_clear_gain():
    a = [0] * 20 + [1] * 20
    b = [1] * 15 + [0] * 5 + [1] * 20
    result = paired_bootstrap(a, b)
    assert result.diff == pytest.approx(15 / 40)
    assert result.low > 0
    assert result.low <= result.diff <= result.high
    assert result.p_value < 0.01
    assert (result.wins, result.losses, result.n) == (15, 0, 40)


def test_paired_bootstrap_finds_nothing_in_identical_lists():
    scores = [1, 0, 1, 1, 0, 0.5] * 5
    result = paired_bootstrap(scores, list(scores))
    assert result.diff == 0
    assert result.low <= 0
    assert result.p_value == 1.0
    assert result.wins == result.losses == 0


def test_paired_bootstrap_null_with_noise_is_not_significant():
    rng = random.Random(7)
    a = [rng.randint(0, 1) for _ in range(60)]
    b = [rng.randint(0, 1) for _ in range(60)]
    result = paired_bootstrap(a, b)
    assert result.low <= 0 <= result.high


def test_paired_bootstrap_p_value_has_a_floor():
    result = paired_bootstrap([0] * 50, [1] * 50, n_boot=1000)
    assert result.p_value == pytest.approx(1 / 1000)


def test_paired_bootstrap_direction_is_b_minus_a():
    result = paired_bootstrap([1] * 10, [0] * 10)
    assert result.diff == -1.0
    assert result.losses == 10


def test_paired_bootstrap_length_mismatch_raises():
    with pytest.raises(ValueError, match="equal lengths"):
        paired_bootstrap([1, 0], [1])


def test_paired_bootstrap_empty():
    result = paired_bootstrap([], [])
    assert (result.n, result.diff, result.p_value) == (0, 0.0, 1.0)


# --- mcnemar_exact -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wins", "losses", "expected"),
    [
        (8, 2, 56 / 1024),  # P(X >= 8), X ~ Bin(10, 1/2) = (45 + 10 + 1) / 1024
        (10, 0, 1 / 1024),
        (5, 5, 638 / 1024),
        (0, 4, 1.0),
        (1, 0, 0.5),
        (0, 0, 1.0),
        (15, 5, 21700 / 1048576),  # sum of C(20, k) for k = 15..20
    ],
)
def test_mcnemar_exact_known_values(wins, losses, expected):
    assert mcnemar_exact(wins, losses) == pytest.approx(expected)


def test_mcnemar_rejects_negative_counts():
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)


# --- calibration -------------------------------------------------------------------------------------------


def test_brier_hand_computed():
    # (0.9 - 1)^2 = 0.01 ; (0.2 - 0)^2 = 0.04 ; mean 0.025
    assert brier([0.9, 0.2], [True, False]) == pytest.approx(0.025)
    assert brier([1.0, 0.0], [1, 0]) == 0.0
    assert brier([], []) == 0.0


def test_ece_hand_computed():
    # Bin 0.9: two answers at 0.9, one right -> |0.5 - 0.9| * 2/4 = 0.2
    # Bin 0.1: two answers at 0.1, none right -> |0.0 - 0.1| * 2/4 = 0.05
    assert ece([0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0]) == pytest.approx(0.25)


def test_ece_perfect_calibration_and_top_bin():
    assert ece([0.75] * 4, [1, 1, 1, 0]) == pytest.approx(0.0)
    # Confidence 1.0 falls in the top bin together with 0.95: mean conf 0.975, accuracy 0.5.
    assert ece([1.0, 0.95], [1, 0]) == pytest.approx(0.475)


def test_ece_one_bin_is_global_gap():
    assert ece([0.2, 0.8], [1, 1], bins=1) == pytest.approx(0.5)


def test_calibration_input_errors():
    with pytest.raises(ValueError):
        brier([0.5], [1, 0])
    with pytest.raises(ValueError):
        ece([1.5], [1])


# --- majority_baseline -------------------------------------------------------------------------------------


def test_majority_baseline():
    assert majority_baseline(["a", "b", "a", "c"]) == ("a", 0.5)
    assert majority_baseline(["b", "a"]) == ("a", 0.5)  # ties go to the smallest label, whatever the order
    assert majority_baseline([]) == ("", 0.0)
