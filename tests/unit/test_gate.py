from promptlearn.config import GateConfig
from promptlearn.optimize.frontier import pareto_front, unique_wins
from promptlearn.optimize.gate import could_pass, decide, label_collapse, non_inferior

_DEFAULTS = GateConfig()
GATE = {"confidence": _DEFAULTS.confidence, "min_gain": _DEFAULTS.min_gain, "seed": 0}


def test_three_wins_of_three_is_a_close_call_not_a_gain() -> None:
    result = decide([0, 0, 0], [1, 1, 1], method="bootstrap", **GATE)
    assert not result.accepted and result.close and result.wins == 3


def test_a_clear_gain_on_forty_examples_is_accepted() -> None:
    base = [0] * 20 + [1] * 20
    cand = [1] * 12 + [0] * 8 + [1] * 20
    result = decide(base, cand, method="bootstrap", **GATE)
    assert result.accepted and result.low > 0 and result.wins == 12 and result.losses == 0


def test_a_rejection_states_the_level_it_was_tested_at() -> None:
    # The demo's case: 8 wins / 2 losses on 40 examples has a positive bootstrap bound, but the exact sign test
    # (p=0.055) fails the first spent level (0.05); the reason must say which level, or the rejection reads as a bug.
    base = [0] * 30 + [1] * 10
    cand = [1] * 8 + [0] * 22 + [0] * 2 + [1] * 8
    result = decide(base, cand, method="bootstrap", confidence=0.95, min_gain=0.0, seed=0)
    assert not result.accepted and result.close and (result.wins, result.losses) == (8, 2)
    assert "not significant at p<=0.050" in result.reason and "p=0.055" in result.reason


def test_a_test_that_could_not_pass_whatever_its_direction_spends_no_alpha() -> None:
    # At 0.95 (alpha/2 for the first candidate at confidence 0.9) 5 wins of 5 pass the sign test (p=0.031), 4 of 4
    # cannot (p=0.0625): a candidate that changes 4 answers could not pass, whichever way they went.
    four = decide([0, 0, 1, 1] + [0] * 36, [1, 1, 0, 0] + [0] * 36, method="bootstrap", confidence=0.95,
                  min_gain=0.0, seed=0)
    five = decide([0] * 40, [1] * 5 + [0] * 35, method="bootstrap", confidence=0.95, min_gain=0.0, seed=0)
    assert (four.wins, four.losses) == (2, 2) and not could_pass(four, 0.95)
    assert five.accepted and could_pass(five, 0.95) and "(p=0.031 <= 0.050)" in five.reason
    assert could_pass(four, 0.90)  # 4 of 4 has p=0.0625 <= 0.1


def test_no_gain_and_a_loss_are_rejected() -> None:
    same = [1, 0] * 20
    assert not decide(same, same, method="bootstrap", **GATE).accepted
    assert not decide([1] * 40, [1] * 30 + [0] * 10, method="bootstrap", **GATE).accepted


def test_mcnemar_method_and_ungated_mode() -> None:
    base, cand = [0] * 30, [1] * 10 + [0] * 20
    assert decide(base, cand, method="mcnemar", **GATE).accepted
    assert decide([1] * 10, [0] * 10, method="none", **GATE).accepted


def test_label_collapse_is_detected_only_beyond_the_data() -> None:
    targets = ["A", "B", "C", "D"] * 10
    assert label_collapse(["A"] * 38 + ["B", "C"], targets, 0.9) is not None
    assert label_collapse(["A", "B", "C", "D"] * 10, targets, 0.9) is None
    assert label_collapse(["A"] * 40, ["A"] * 40, 0.9) is None  # the data itself is all A


def test_pareto_front_and_unique_wins() -> None:
    scores = {0: [1, 0, 0], 1: [0, 1, 0], 2: [0, 1, 0], 3: [0, 0, 0]}
    assert pareto_front(scores) == [0, 1, 2]
    assert unique_wins(scores) == {0: 1, 1: 0, 2: 0, 3: 0}


NI = {"confidence": _DEFAULTS.confidence, "seed": 0, "method": "bootstrap"}


def test_non_inferiority_accepts_an_unchanged_score_that_decide_rejects() -> None:
    same = [1, 0, 1, 1] * 10  # a removal that changes no answer: no gain, so the superiority test says no
    assert not decide(same, same, method="bootstrap", **GATE).accepted
    result = non_inferior(same, same, margin=0.05, **NI)
    assert result.accepted and result.diff == 0 and result.low == 0
    assert result.reason.startswith("not worse: change +0.000") and "non-inferiority" in result.reason


def test_non_inferiority_accepts_a_small_loss_within_the_margin_and_rejects_one_beyond_it() -> None:
    base = [1] * 60 + [0] * 40
    one_loss = [0] + [1] * 59 + [0] * 40  # -0.01 on 100 examples
    assert non_inferior(base, one_loss, margin=0.05, **NI).accepted
    assert not non_inferior(base, one_loss, margin=0.0, **NI).accepted  # a zero margin tolerates no loss
    ten_losses = [0] * 10 + [1] * 50 + [0] * 40  # -0.10
    rejected = non_inferior(base, ten_losses, margin=0.05, **NI)
    assert not rejected.accepted and rejected.losses == 10 and rejected.wins == 0
    assert rejected.reason.startswith("may be worse: change -0.100")


def test_non_inferiority_confidence_makes_it_stricter() -> None:
    base = [1] * 20 + [0] * 20
    cand = [0] * 2 + [1] * 18 + [1] * 1 + [0] * 19  # -0.025 on 40: noisy
    loose = non_inferior(base, cand, margin=0.1, method="bootstrap", confidence=0.6, seed=0)
    strict = non_inferior(base, cand, margin=0.1, method="bootstrap", confidence=0.99, seed=0)
    assert loose.accepted and not strict.accepted
    assert loose.low > strict.low
