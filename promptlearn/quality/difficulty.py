"""Sample difficulty: how often each training example was solved, and what the loop does with it.

An example's record is the outcome under each playbook version that answered it (only the current version
answers train batches; candidates are scored on val). It is kept per version because rollouts are stored per
(version, example): an example drawn again under the same version reuses its stored rollout and counts once.
The loop builds the tally from the rollouts it evaluates, in order, and a resumed run replays them, so it comes
back identical; the end-of-run records are read from the stored rollouts themselves.

Buckets, with `hard_after` attempts as the evidence needed:
- `never`: attempted at least `hard_after` times, never solved ("too hard": the rewriter cannot learn from it),
- `always`: attempted at least `hard_after` times, always solved,
- `sometimes`: everything else that was attempted (including too few attempts to tell),
- `unseen`: never drawn into a batch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from promptlearn.config import QualityConfig
from promptlearn.data import Example
from promptlearn.rollouts import RolloutResult
from promptlearn.seeding import rng, stream_seed

BUCKETS = ("never", "sometimes", "always", "unseen")
UNKNOWN_RATE = 0.5  # the ease of an example no version answered yet: neither easy nor hard


@dataclass
class Tally:
    """Per example id, per version that answered it: solved or not."""

    seen: dict[str, dict[int, bool]] = field(default_factory=dict)

    def add(self, version: int, results: Iterable[RolloutResult]) -> None:
        for result in results:
            self.seen.setdefault(result.example.id, {})[version] = result.correct

    def counts(self, example_id: str) -> tuple[int, int]:
        """(attempts, solved)."""
        outcomes = self.seen.get(example_id, {})
        return len(outcomes), sum(outcomes.values())

    def bucket(self, example_id: str, hard_after: int) -> str:
        return bucket(*self.counts(example_id), hard_after)

    def rate(self, example_id: str) -> float:
        attempts, solved = self.counts(example_id)
        return solved / attempts if attempts else UNKNOWN_RATE


def bucket(attempts: int, solved: int, hard_after: int) -> str:
    if attempts == 0:
        return "unseen"
    if attempts >= hard_after and solved == 0:
        return "never"
    if attempts >= hard_after and solved == attempts:
        return "always"
    return "sometimes"


# ---- critique batches ---------------------------------------------------------------------------------------
def select_failures(results: Sequence[RolloutResult], tally: Tally, quality: QualityConfig, limit: int,
                    seed: int) -> list[RolloutResult]:
    """Up to `limit` failures of the batch for the judge and the rewriter, too-hard examples down-weighted.

    Walking the failures in batch order, a too-hard one (bucket `never`) is kept with probability `hard_weight`
    (a seeded draw) and every other one is kept; places still open at the end go to the skipped ones, in order.
    So a weight of 0 means "only when nothing fixable failed", and with no too-hard failure this is exactly the
    first `limit` failures, as without the feature. The result keeps batch order.
    """
    failures = [r for r in results if not r.correct]
    rng = random.Random(seed)
    kept: list[int] = []
    skipped: list[int] = []
    for index, result in enumerate(failures):
        if len(kept) == limit:
            break
        too_hard = tally.bucket(result.example.id, quality.hard_after) == "never"
        if too_hard and rng.random() >= quality.hard_weight:
            skipped.append(index)
        else:
            kept.append(index)
    kept += skipped[: limit - len(kept)]
    return [failures[i] for i in sorted(kept)]


# ---- curriculum ---------------------------------------------------------------------------------------------
def ease_order(examples: Sequence[Example], tally: Tally, seed: int) -> list[Example]:
    """Easiest first: the highest solve rate so far (an example no version answered counts as 0.5, so what the
    seed and later versions solved comes before it and what they never solved after), then the shorter input.
    Remaining ties are broken by a seeded shuffle, so the order is deterministic without favouring file order."""
    shuffled = list(examples)
    random.Random(seed).shuffle(shuffled)
    return sorted(shuffled, key=lambda e: (-tally.rate(e.id), len(e.input)))


def curriculum_batch(train: Sequence[Example], tally: Tally, iteration: int, iterations: int, size: int,
                     seed: int) -> list[Example]:
    """The batch of `iteration` (1-based) of `iterations`: drawn from the easiest `max(size, ceil(n * i / I))`
    examples, a window that grows until the last iteration draws from all of train; returned easiest first."""
    ranked = ease_order(train, tally, stream_seed(seed, "batch", iteration))
    window = max(size, math.ceil(len(ranked) * iteration / max(iterations, 1)))
    pool = ranked[:window]
    chosen = set(rng(seed, "batch", iteration).sample(range(len(pool)), min(size, len(pool))))
    return [pool[i] for i in sorted(chosen)]


# ---- end-of-run records -------------------------------------------------------------------------------------
def tally_from_rows(rows: Iterable[Any]) -> Tally:
    """The tally of stored train rollouts (RolloutRow: version_number, example_id, score)."""
    tally = Tally()
    for row in rows:
        tally.seen.setdefault(row.example_id, {})[row.version_number] = row.score >= 1.0
    return tally


def histogram(tally: Tally, examples: Iterable[Example], hard_after: int) -> dict[str, int]:
    counts = dict.fromkeys(BUCKETS, 0)
    for example in examples:
        counts[tally.bucket(example.id, hard_after)] += 1
    return counts


def record(store: Any, run_id: str, examples: Sequence[Example], hard_after: int) -> dict[str, int]:
    """Store one `difficulty` record per train example (value: solve rate, None when unseen) and return the
    histogram. Idempotent: a resumed run adds only what is missing (the numbers come out the same)."""
    tally = tally_from_rows(store.rollouts(run_id, split="train"))
    stored = {row.key for row in store.quality(run_id, kind="difficulty")}
    for example in examples:
        if example.id in stored:
            continue
        attempts, solved = tally.counts(example.id)
        store.add_quality(run_id, "difficulty", key=example.id, value=solved / attempts if attempts else None,
                          attempts=attempts, solved=solved, bucket=bucket(attempts, solved, hard_after))
    return histogram(tally, examples, hard_after)
