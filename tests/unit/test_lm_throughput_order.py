"""The throughput benchmark's arm order: no arm may always run right after another on the same prompt, where
llama.cpp's prefix cache would hand it the prompt already processed."""

from __future__ import annotations

from collections import Counter

from benchmarks.lm_throughput import ARMS, arm_orders


def test_two_arms_alternate_abba() -> None:
    assert arm_orders(["raw", "seam"], 6) == [("raw", "seam"), ("seam", "raw"), ("seam", "raw"), ("raw", "seam"),
                                              ("raw", "seam"), ("seam", "raw")]


def test_every_arm_holds_every_position_equally_often_over_a_cycle() -> None:
    orders = arm_orders(ARMS, 2 * len(ARMS) * 2)
    assert all(sorted(order) == sorted(ARMS) for order in orders)
    for position in range(len(ARMS)):
        assert Counter(order[position] for order in orders) == dict.fromkeys(ARMS, 4)


def test_the_seam_arm_does_not_always_run_in_the_same_position() -> None:
    # The bias being fixed: the seam ran second every time, right after an arm that had just seen its prompt.
    orders = arm_orders(ARMS, 12)
    assert {order.index("seam") for order in orders} == {0, 1, 2}
    assert Counter(order[0] for order in orders)["seam"] == 4


def test_a_partial_cycle_is_a_prefix_of_the_full_one() -> None:
    assert arm_orders(ARMS, 4) == arm_orders(ARMS, 6)[:4]
    assert arm_orders(ARMS, 0) == []
