"""Expiry: a bullet that has not been cited or credited for `learn.expire_after` iterations, or whose ablation
credit is negative, is proposed for removal. The removal is a candidate like any other, validated on val; it
cannot show a gain, so the gate tests it for non-inferiority (`gate.noninferiority_margin`), and under
`gate.review` a person decides as well.

The tally is rebuilt from what the loop evaluates, in order, so a resumed run proposes the same removals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from promptlearn.optimize.steps import Candidate
from promptlearn.playbook import Bullet, Delta, Measured, Playbook, cited_bullet_ids
from promptlearn.rollouts import RolloutResult


class Staleness:
    """When each bullet was last cited by the task model or credited (its helpful / harmful counters moved)."""

    def __init__(self, expire_after: int):
        self.expire_after = expire_after
        self.last: dict[str, int] = {}  # bullet id -> the iteration it was last cited or credited (or added)
        self.counters: dict[str, int] = {}
        self.tried: set[frozenset[str]] = set()

    def observe(self, iteration: int, playbook: Playbook, results: Sequence[RolloutResult] = ()) -> None:
        cited = {bullet_id for r in results for bullet_id in cited_bullet_ids(r.output)}
        for bullet in playbook.bullets:
            total = bullet.helpful + bullet.harmful
            if bullet.id not in self.last or bullet.id in cited or self.counters.get(bullet.id) != total:
                self.last[bullet.id] = iteration
            self.counters[bullet.id] = total

    def stale(self, iteration: int, playbook: Playbook,
              measured: Mapping[str, Measured]) -> list[tuple[Bullet, str]]:
        """The bullets to propose for removal now, and why; none when this same set was tried already."""
        out: list[tuple[Bullet, str]] = []
        for bullet in playbook.bullets:
            credit = measured.get(bullet.id)
            idle = iteration - self.last.get(bullet.id, iteration)
            if credit is not None and credit.credit < 0 and credit.text in (None, bullet.text):
                out.append((bullet, f"ablation credit {credit.credit:+.3f}"))
            elif idle >= self.expire_after:
                out.append((bullet, f"not cited or credited for {idle} iterations"))
        if not out or frozenset(b.id for b, _why in out) in self.tried:
            return []
        return out

    def tried_removal(self, iteration: int, bullet_ids: Sequence[str]) -> None:
        """A removal was validated: the same set is not proposed again, and a kept bullet waits another
        `expire_after` iterations."""
        self.tried.add(frozenset(bullet_ids))
        for bullet_id in bullet_ids:
            self.last[bullet_id] = iteration


def removal(current: Playbook, stale: Sequence[tuple[Bullet, str]], version: int) -> Candidate:
    """The current playbook without the stale bullets, as a candidate whose deltas are the removals."""
    deltas = tuple(Delta(op="remove", section=b.section, bullet_id=b.id, text=b.text, reason=f"expired: {why}")
                   for b, why in stale)
    result = current.apply(deltas, version=version)
    outcomes = tuple((o.delta, o.applied, o.reason) for o in result.outcomes)
    return Candidate(result.playbook, deltas, outcomes, ("origin: expiry",))


def lighter(current: Playbook, candidate: Candidate) -> bool:
    """A candidate that only removes or shortens (no rule added, a shorter prompt): it can be not worse for less,
    so the gate tests it for non-inferiority when a margin is set."""
    adds = any(applied and delta.op == "add" for delta, applied, _why in candidate.outcomes)
    return candidate.changed and not adds and len(candidate.playbook.render()) < len(current.render())
