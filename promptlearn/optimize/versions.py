"""What the loop's steps hand each other, typed: the version being improved on, and a candidate that passed the
gate. Each carries its validation rollouts, the paired baseline of every gate test that follows."""

from __future__ import annotations

from dataclasses import dataclass

from promptlearn.optimize.gate import GateResult
from promptlearn.playbook import Playbook
from promptlearn.rollouts import RolloutResult


@dataclass(frozen=True)
class Current:
    """The playbook candidates are built on and compared with: its version number and val rollouts."""

    playbook: Playbook
    number: int
    val: list[RolloutResult]


@dataclass(frozen=True)
class Validated:
    """A candidate that passed the gate, its bullets credited with the gate's wins and losses."""

    playbook: Playbook
    number: int
    val: list[RolloutResult]
    gate: GateResult

    def as_current(self) -> Current:
        return Current(self.playbook, self.number, self.val)


__all__ = ["Current", "Validated"]
