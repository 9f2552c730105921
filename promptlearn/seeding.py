"""Every seeded draw of a run, from one place: a named stream turns the run's seed and a counter (the iteration,
the version number, the attempt) into the seed of its own `random.Random`.

The arithmetic is `seed * multiplier + counter`. Each multiplier is a distinct prime, so two streams, or one stream
in runs with neighbouring seeds, do not draw in step (seed 1's batch of iteration 1 is not seed 0's of another
iteration). The multipliers are the ones runs have always used: changing one changes the splits, batches and
rewriter requests of every stored run, so a resumed or replayed run would no longer match what is stored.
"""

from __future__ import annotations

import random

# stream -> multiplier of the run seed
STREAMS: dict[str, int] = {
    "splits": 1,  # the dataset's shuffle into train / val / test
    "sample": 1,  # a sample of a dataset (the out-of-domain check set)
    "batch": 7_919,  # the training batch of iteration `counter` (and the curriculum's window draw)
    "failures": 104_729,  # which failures of iteration `counter`'s batch are critiqued (too-hard ones down-weighted)
    "proposal": 100_003,  # the rewriter's seed for candidate version `counter`
    "rewrite_attempt": 7_919,  # an LM sampling seed: `seed` is the proposal's, `counter` the attempt (0, 1)
    "extra_val": 31,  # held-out examples drawn for a close gate decision on version `counter`
    "audit": 9_973,  # the gains of version `counter` a second judge re-scores
    "gate": 1,  # the gate's bootstraps (gain, drift, calibration, out-of-domain) for version `counter`
    "ablation": 1,  # the bootstrap of one unit's credit; `counter` from `ablation_counter`
}

# Ablation counters: version * stride + unit index, the stride a prime above any playbook's unit count.
ABLATION_VERSION_STRIDE = 1_009


def stream_seed(seed: int, stream: str, counter: int = 0) -> int:
    """The integer seed of `stream`'s draw number `counter` in a run seeded `seed`."""
    if stream not in STREAMS:
        raise KeyError(f"unknown random stream {stream!r} (known: {', '.join(STREAMS)})")
    return seed * STREAMS[stream] + counter


def rng(seed: int, stream: str, counter: int = 0) -> random.Random:
    """A fresh generator for `stream`'s draw number `counter`, e.g. `rng(cfg.seed, "batch", iteration)`."""
    return random.Random(stream_seed(seed, stream, counter))


def part_rng(seed: int, part: str) -> random.Random:
    """The shuffle of one of a dataset's own splits (`split_column`): seeded by the seed and the part's name."""
    return random.Random(f"{seed}:{part}")


def ablation_counter(version: int, unit: int) -> int:
    """The `ablation` stream's counter of unit number `unit` of version `version`."""
    return version * ABLATION_VERSION_STRIDE + unit
