"""Keeping the playbook small and non-redundant: duplicate detection, merging and token-budget pruning.

Similarity is token-set Jaccard over normalized words rather than embeddings: deterministic, free, and
good enough for the near-verbatim repeats a rewriter produces when it sees the same failure twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from promptlearn.playbook.deltas import Delta
from promptlearn.playbook.playbook import Bullet, Playbook, bullet_number

_WORD = re.compile(r"[a-z0-9]+")


def word_set(text: str) -> frozenset[str]:
    """Lowercase words with punctuation stripped (`"Don't guess!"` -> `{"don", "t", "guess"}`)."""
    return frozenset(_WORD.findall(text.lower()))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _oldest_first(playbook: Playbook) -> list[Bullet]:
    return sorted(playbook.bullets, key=lambda b: bullet_number(b.id))


def near_duplicates(playbook: Playbook, threshold: float = 0.8) -> list[tuple[str, str]]:
    """Pairs (older id, newer id) whose texts have Jaccard similarity >= threshold, across all sections."""
    bullets = _oldest_first(playbook)
    words = [word_set(b.text) for b in bullets]
    return [
        (bullets[i].id, bullets[j].id)
        for i in range(len(bullets))
        for j in range(i + 1, len(bullets))
        if jaccard(words[i], words[j]) >= threshold
    ]


def _absorb(keep: Bullet, drop: Bullet) -> Bullet:
    """The older bullet survives; it inherits the evidence and counts earned by its duplicate."""
    return keep.model_copy(
        update={
            "helpful": keep.helpful + drop.helpful,
            "harmful": keep.harmful + drop.harmful,
            "source": list(dict.fromkeys([*keep.source, *drop.source])),
        }
    )


def merge_duplicates(playbook: Playbook, threshold: float = 0.8) -> tuple[Playbook, list[str]]:
    """Fold each near-duplicate into the oldest bullet it resembles; returns the new playbook and removed ids.

    Comparisons use each keeper's own text, so a chain A~B~C with A !~ C keeps C unless it matches A.
    """
    bullets = _oldest_first(playbook)
    words = {b.id: word_set(b.text) for b in bullets}
    merged: dict[str, Bullet] = {}
    removed: list[str] = []
    for bullet in bullets:
        keeper = next((k for k in merged if jaccard(words[k], words[bullet.id]) >= threshold), None)
        if keeper is None:
            merged[bullet.id] = bullet
        else:
            merged[keeper] = _absorb(merged[keeper], bullet)
            removed.append(bullet.id)
    result = playbook.without(removed)
    for bullet in merged.values():
        result = result.replace_bullet(bullet)
    return result, removed


class Measured(NamedTuple):
    """A bullet's credit measured by ablation (promptlearn/quality/credit.py): val accuracy with it minus without
    it, and the interval. `text` is the text it was measured with; a bullet updated since is unmeasured again."""

    credit: float
    low: float
    high: float
    text: str | None = None

    @property
    def useless(self) -> bool:
        # No measurable gain: the estimate is not positive and the interval does not rule out zero.
        return self.credit <= 0 and self.low <= 0


def _removal_order(playbook: Playbook, credit: Mapping[str, float] | None,
                   measured: Mapping[str, Measured] | None = None) -> list[str]:
    """Bullets whose measured credit shows no gain go first (lowest credit first); then the rest by counter credit,
    lowest first. Among equals the newest goes first (it has had the least chance to prove itself)."""

    def useless(b: Bullet) -> Measured | None:
        m = (measured or {}).get(b.id)
        return m if m is not None and m.useless and m.text in (None, b.text) else None

    def score(b: Bullet) -> tuple[int, float]:
        if (m := useless(b)) is not None:
            return 0, m.credit
        # With an explicit credit map, an id it does not mention has earned nothing yet.
        return 1, credit.get(b.id, 0.0) if credit is not None else float(b.helpful - b.harmful)

    ranked = sorted(playbook.bullets, key=lambda b: (score(b), -bullet_number(b.id)))
    return [b.id for b in ranked]


def prune_to_budget(
    playbook: Playbook, max_tokens: int, credit: Mapping[str, float] | None = None,
    measured: Mapping[str, Measured] | None = None,
) -> tuple[Playbook, list[str]]:
    """Drop the least useful bullets until the bullets' rendered tokens (seed prompt excluded) fit `max_tokens`.

    `measured` (ablation credit, when the run measured it) comes first: a bullet that shows no gain is pruned
    before any other; everything else goes by `credit`, else the helpful/harmful counters."""
    if max_tokens < 0:
        raise ValueError(f"max_tokens must be non-negative, got {max_tokens}")
    removed: list[str] = []
    order = iter(_removal_order(playbook, credit, measured))
    while playbook.bullet_tokens() > max_tokens:
        bullet_id = next(order)
        playbook = playbook.without([bullet_id])
        removed.append(bullet_id)
    return playbook, removed


def dedupe_deltas(
    playbook: Playbook, deltas: Sequence[Delta], threshold: float = 0.8
) -> tuple[list[Delta], list[tuple[Delta, str]]]:
    """Drop `add` deltas that repeat an existing bullet or an earlier kept delta in the batch.

    Returns (kept deltas in order, dropped deltas with the reason). Updates and removes always pass through.
    """
    existing = [(b.id, word_set(b.text)) for b in _oldest_first(playbook)]
    earlier: list[tuple[int, frozenset[str]]] = []
    kept: list[Delta] = []
    dropped: list[tuple[Delta, str]] = []
    for position, delta in enumerate(deltas, start=1):
        words = word_set(delta.text)
        if delta.op == "add":
            reason = _duplicate_reason(words, existing, earlier, threshold)
            if reason:
                dropped.append((delta, reason))
                continue
        kept.append(delta)
        if delta.op in ("add", "update"):
            earlier.append((position, words))
    return kept, dropped


def _duplicate_reason(
    words: frozenset[str],
    existing: Sequence[tuple[str, frozenset[str]]],
    earlier: Sequence[tuple[int, frozenset[str]]],
    threshold: float,
) -> str | None:
    for bullet_id, other in existing:
        if jaccard(words, other) >= threshold:
            return f"near-duplicate of {bullet_id}"
    for position, other in earlier:
        if jaccard(words, other) >= threshold:
            return f"near-duplicate of delta #{position} in this batch"
    return None
