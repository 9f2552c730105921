"""Per-bullet credit by ablation: score the playbook without each bullet (or section) on val.

credit = acc(full) - acc(without), with a paired bootstrap interval over the val examples. Counters (how often a
bullet was cited, or shared a gate's wins) say what the model mentioned; ablation says what the bullet changes.

Rollouts of an ablated playbook are stored with split `ablation` under a negative version number derived from
the real version and the unit's position (`ablation_version`): real versions are never negative, so the two
never collide, and the same unit maps to the same number when a run resumes, so its stored rollouts are reused.
They count against the rollout budget; an ablation the budget cannot cover is skipped with a note, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from promptlearn.config import RunConfig
from promptlearn.data import Example
from promptlearn.playbook import Playbook
from promptlearn.playbook.curation import Measured
from promptlearn.rollouts import RolloutResult
from promptlearn.seeding import ablation_counter, stream_seed
from promptlearn.stats import paired_bootstrap, two_sided

ABLATION_SPLIT = "ablation"
_SPACE = 100_000  # units per version in the ablation number space; a playbook never holds this many bullets

Evaluate = Callable[[Playbook, int, Sequence[Example], str], list[RolloutResult]]


def ablation_version(number: int, index: int) -> int:
    """The stored version number of version `number` without its `index`-th unit (0-based)."""
    if not 0 <= index < _SPACE:
        raise ValueError(f"unit index {index} out of range")
    return -(number * _SPACE + index + 1)


@dataclass(frozen=True)
class Unit:
    """What one ablation removes: a bullet, or every bullet of a section."""

    key: str  # the bullet id or the section name
    section: str
    text: str
    bullet_ids: tuple[str, ...]


def units(playbook: Playbook, unit: Literal["bullet", "section"]) -> list[Unit]:
    if unit == "bullet":
        return [Unit(b.id, b.section, b.text, (b.id,)) for b in playbook.bullets]
    return [Unit(section, section, " | ".join(b.text for b in bullets), tuple(b.id for b in bullets))
            for section, bullets in playbook.by_section().items() if bullets]


@dataclass(frozen=True)
class Credit:
    credit: float
    low: float
    high: float
    n: int


def measure(full: Sequence[float], without: Sequence[float], confidence: float, seed: int) -> Credit:
    """acc(full) - acc(without), paired example by example (so per-example difficulty cancels out). `confidence`
    is the gate's one-sided level: the interval's lower bound is a one-sided bound at that level, as in the gate."""
    paired = paired_bootstrap(without, full, confidence=two_sided(confidence), seed=seed)
    return Credit(paired.diff, paired.low, paired.high, paired.n)


@dataclass
class Ablation:
    """Runs the ablations of one run, records them, and keeps what pruning and the run summary need."""

    store: Any  # promptlearn.store.Store
    run_id: str
    cfg: RunConfig
    evaluate: Evaluate
    rollouts_left: Callable[[], int | None]
    note: Callable[[str], None] = lambda text: None
    check: Callable[[], None] = lambda: None  # raises when a wall-time or token budget is spent
    measured: dict[str, Measured] = field(default_factory=dict)  # bullet id -> its latest measured credit
    log: list[dict[str, Any]] = field(default_factory=list)

    def run(self, playbook: Playbook, number: int, full: Sequence[RolloutResult], examples: Sequence[Example],
            held_for_test: int = 0) -> None:
        """Ablate every unit of version `number` (whose val rollouts are `full`, on `examples`), leaving `held_for_test`
        rollouts of the budget untouched. A budget stop (StopRun, BudgetExceeded, or `check` for wall time and
        tokens) propagates to the caller, which notes it with `stopped`; what was measured before stays recorded."""
        todo = units(playbook, self.cfg.quality.ablation_unit)
        cost = len(todo) * len(examples)
        entry: dict[str, Any] = {"version": number, "unit": self.cfg.quality.ablation_unit, "units": len(todo),
                                 "cost": cost, "status": "done", "note": ""}
        self.log.append(entry)
        left = self.rollouts_left()
        if not todo:
            entry.update(status="empty", note=f"v{number} has no {entry['unit']} to ablate")
            return
        if left is not None and cost + held_for_test > left:
            entry.update(status="skipped", note=f"ablation of v{number} skipped: it needs {cost} "
                         f"rollouts, the budget has {max(left - held_for_test, 0)} left")
            return
        self.note(f"ablation of v{number}: val without each of {len(todo)} {entry['unit']}(s), {cost} rollouts")
        stored = {row.key for row in self.store.quality(self.run_id, kind="credit", version=number)}
        full_scores = [r.score for r in full]
        for index, unit in enumerate(todo):
            self.check()
            without = self.evaluate(playbook.without(unit.bullet_ids), ablation_version(number, index), examples,
                                    ABLATION_SPLIT)
            self._keep(unit, number, index, full_scores, [r.score for r in without], stored)

    def _keep(self, unit: Unit, number: int, index: int, full: Sequence[float], without: Sequence[float],
              stored: set[str]) -> None:
        confidence = self.cfg.gate.confidence
        seed = stream_seed(self.cfg.seed, "ablation", ablation_counter(number, index))
        credit = measure(full, without, confidence, seed=seed)
        if unit.key not in stored:  # a resumed run measured it already, identically
            self.store.add_quality(self.run_id, "credit", key=unit.key, value=credit.credit, version=number,
                                   low=credit.low, high=credit.high, n=credit.n, text=unit.text,
                                   section=unit.section, unit=self.cfg.quality.ablation_unit, confidence=confidence)
        if len(unit.bullet_ids) == 1 and self.cfg.quality.ablation_unit == "bullet":
            self.measured[unit.key] = Measured(credit.credit, credit.low, credit.high, unit.text)

    def stopped(self, reason: Exception) -> None:
        """A budget ran out mid-ablation: keep the units measured so far, say why the rest is missing."""
        if self.log:
            entry = self.log[-1]
            entry.update(status="stopped", note=f"ablation of v{entry['version']} stopped: {reason}")

    def summary(self) -> dict[str, Any]:
        return {"mode": self.cfg.quality.ablation, "versions": self.log,
                "notes": [e["note"] for e in self.log if e["status"] in ("skipped", "stopped")]}
