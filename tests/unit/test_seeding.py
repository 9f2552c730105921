"""The named random streams reproduce the draws runs made before they existed (seed * prime + counter, spelled
out at each call site): stored runs' splits, batches and rewriter requests stay the same."""

from __future__ import annotations

import random

import pytest

from promptlearn.data import load_dataset
from promptlearn.seeding import STREAMS, ablation_counter, part_rng, rng, stream_seed

# The arithmetic each call site used before promptlearn/seeding.py.
OLD = {
    "batch": lambda seed, n: seed * 7_919 + n,  # optimize/loop.py _batch, quality/difficulty.py curriculum_batch
    "failures": lambda seed, n: seed * 104_729 + n,  # optimize/loop.py select_failures
    "proposal": lambda seed, n: seed * 100_003 + n,  # optimize/propose.py _rules
    "rewrite_attempt": lambda seed, n: seed * 7919 + n,  # optimize/rewriter.py request seed
    "extra_val": lambda seed, n: seed * 31 + n,  # optimize/loop.py _gate_with_more
    "audit": lambda seed, n: seed * 9_973 + n,  # quality/hacking.py Auditor.gains
    "gate": lambda seed, n: seed + n,  # optimize/loop.py _gate, quality/cliffs.py
}


@pytest.mark.parametrize("stream", sorted(OLD))
@pytest.mark.parametrize("seed", [0, 1, 3, 42, -5])
@pytest.mark.parametrize("counter", [0, 1, 2, 17])
def test_stream_seeds_are_the_old_arithmetic(stream: str, seed: int, counter: int) -> None:
    assert stream_seed(seed, stream, counter) == OLD[stream](seed, counter)
    assert rng(seed, stream, counter).random() == random.Random(OLD[stream](seed, counter)).random()


def test_ablation_seed_is_the_old_arithmetic() -> None:
    for seed, version, unit in [(0, 1, 0), (3, 2, 5), (42, 100_004, 3)]:
        assert stream_seed(seed, "ablation", ablation_counter(version, unit)) == seed + version * 1_009 + unit


def test_pinned_draws() -> None:
    """Concrete draws, computed with the old arithmetic before the streams existed."""
    assert rng(3, "batch", 2).sample(range(40), 6) == [32, 20, 18, 15, 12, 24]
    assert rng(3, "failures", 2).random() == 0.3893026489829353
    assert rng(3, "extra_val", 5).sample(range(50), 4) == [22, 36, 2, 26]
    assert rng(3, "audit", 5).sample(range(20), 3) == [15, 8, 6]
    order = list(range(10))
    part_rng(3, "train").shuffle(order)
    assert order == [8, 1, 3, 9, 5, 0, 4, 7, 2, 6]


def test_pinned_splits_and_samples() -> None:
    """support_triage's splits and a sample under seed 3 / 7, as drawn before the streams existed."""
    data = load_dataset("support_triage")
    splits = data.split(3, 8, 6, 5)
    ids = lambda part: [int(e.id.split(":")[1]) for e in part.examples]  # noqa: E731
    assert ids(splits.train) == [106, 2, 6, 23, 90, 48, 144, 32]
    assert ids(splits.val) == [116, 84, 29, 63, 112, 91]
    assert ids(splits.test) == [31, 80, 156, 24, 89]
    assert ids(data.sample(4, 7)) == [13, 39, 83, 102]


def test_unknown_stream_is_an_error() -> None:
    with pytest.raises(KeyError, match="unknown random stream"):
        rng(0, "batches")
    assert set(OLD) <= set(STREAMS)
