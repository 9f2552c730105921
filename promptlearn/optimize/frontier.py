"""A per-example Pareto frontier of evaluated versions (as GEPA keeps), so one lucky batch does not win."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(x > y for x, y in zip(a, b, strict=True))


def pareto_front(scores: Mapping[int, Sequence[float]]) -> list[int]:
    """Versions not dominated by any other on the shared validation examples."""
    return sorted(v for v, s in scores.items() if not any(dominates(o, s) for w, o in scores.items() if w != v))


def unique_wins(scores: Mapping[int, Sequence[float]]) -> dict[int, int]:
    """For each version, how many examples only it (among all versions) gets the best score on."""
    wins = {v: 0 for v in scores}
    if not scores:
        return wins
    width = len(next(iter(scores.values())))
    for i in range(width):
        best = max(s[i] for s in scores.values())
        leaders = [v for v, s in scores.items() if s[i] == best]
        if len(leaders) == 1 and best > 0:
            wins[leaders[0]] += 1
    return wins
