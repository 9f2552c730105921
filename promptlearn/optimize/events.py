"""The loop's events, typed: one frozen dataclass per kind, handed to every subscriber as it happens.

A subscriber is any callable taking an `Event` (the CLI's progress view, the rl arm's clock, a user's script);
`match` on the classes to pick the ones wanted:

    def show(event: Event) -> None:
        match event:
            case GateDecided(version=v, accepted=True):
                print(f"v{v} accepted")

    optimize(config, subscribers=[show])

The older `on_event=lambda kind, data: ...` callers keep working: `legacy(on_event)` turns each event into its
kind (`"gate"`) and a dict with the same keys as the dataclass's fields (`Event.data`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

OnEvent = Callable[[str, dict[str, Any]], None]  # the untyped form: (kind, data)


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = ""

    def data(self) -> dict[str, Any]:
        """The fields as a dict, what `on_event(kind, data)` callers get; an optional field left unset is left
        out (a `Flagged` audit has no text)."""
        return {f.name: value for f in dataclasses.fields(self)
                if not ((value := getattr(self, f.name)) is None and f.default is None)}


@dataclass(frozen=True)
class IterationStarted(Event):
    kind: ClassVar[str] = "iteration"
    iteration: int
    version: int  # the current version the iteration starts from


@dataclass(frozen=True)
class EvalStarted(Event):
    kind: ClassVar[str] = "eval_start"
    split: str
    version: int
    n: int


@dataclass(frozen=True)
class RolloutScored(Event):
    kind: ClassVar[str] = "rollout"
    split: str
    version: int
    correct: bool


@dataclass(frozen=True)
class EvalFinished(Event):
    kind: ClassVar[str] = "eval_end"
    split: str
    version: int
    accuracy: float


@dataclass(frozen=True)
class StepStarted(Event):
    """A slow reflection step (the judge's critiques, a rewriter call) of `n` units."""

    kind: ClassVar[str] = "step_start"
    label: str
    n: int


@dataclass(frozen=True)
class StepAdvanced(Event):
    kind: ClassVar[str] = "step_advance"


@dataclass(frozen=True)
class StepFinished(Event):
    kind: ClassVar[str] = "step_end"


@dataclass(frozen=True)
class CritiquesReady(Event):
    kind: ClassVar[str] = "critiques"
    n: int  # critiques of failures handed to the rewriter


@dataclass(frozen=True)
class ProposalFailed(Event):
    kind: ClassVar[str] = "proposal_failed"
    version: int
    error: str | None


@dataclass(frozen=True)
class Screened(Event):
    kind: ClassVar[str] = "screen"
    version: int
    origin: str  # rules | examples | merge
    fixed: int
    broken: int


@dataclass(frozen=True)
class GateDecided(Event):
    kind: ClassVar[str] = "gate"
    version: int
    accepted: bool
    reason: str
    diff: float


@dataclass(frozen=True)
class Accepted(Event):
    kind: ClassVar[str] = "accepted"
    version: int
    bullets: int


@dataclass(frozen=True)
class Flagged(Event):
    """A reward-hacking smell: a bullet's text, or (`bullet="audit"`) gains a second judge does not see."""

    kind: ClassVar[str] = "flag"
    version: int
    bullet: str
    reason: str
    text: str | None = None


@dataclass(frozen=True)
class OodScored(Event):
    kind: ClassVar[str] = "ood"
    version: int
    accuracy: float
    diff: float
    flagged: bool


@dataclass(frozen=True)
class OodCliff(Event):
    kind: ClassVar[str] = "ood_cliff"
    version: int
    dataset: str
    diff: float
    low: float
    high: float


@dataclass(frozen=True)
class ReviewWaiting(Event):
    """A candidate passed the gate and waits for a person (gate.review): the run stops here."""

    kind: ClassVar[str] = "review"
    version: int
    run_id: str


@dataclass(frozen=True)
class Note(Event):
    kind: ClassVar[str] = "note"
    text: str


@dataclass(frozen=True)
class RunFinished(Event):
    kind: ClassVar[str] = "done"
    run_id: str


KINDS: dict[str, type[Event]] = {cls.kind: cls for cls in (
    IterationStarted, EvalStarted, RolloutScored, EvalFinished, StepStarted, StepAdvanced, StepFinished,
    CritiquesReady, ProposalFailed, Screened, GateDecided, Accepted, Flagged, OodScored, OodCliff, ReviewWaiting,
    Note, RunFinished)}


class Subscriber(Protocol):
    def __call__(self, event: Event) -> None: ...


def from_legacy(kind: str, data: dict[str, Any]) -> Event:
    """The typed event for an untyped (kind, data) pair; a KeyError for an unknown kind."""
    return KINDS[kind](**data)


def legacy(on_event: OnEvent) -> Subscriber:
    """A subscriber that hands each event on as (kind, data), for `on_event=lambda kind, data: ...` callers."""
    def subscriber(event: Event) -> None:
        on_event(event.kind, event.data())

    return subscriber


class Events:
    """The loop's publisher: each event goes to every subscriber, in the order they subscribed."""

    def __init__(self, subscribers: Iterable[Subscriber] = ()):
        self.subscribers = list(subscribers)

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def __call__(self, event: Event) -> None:
        for subscriber in self.subscribers:
            subscriber(event)

    def untyped(self, kind: str, data: dict[str, Any]) -> None:
        """For the quality checks, which announce what they find as (kind, data) (they sit below `optimize`)."""
        self(from_legacy(kind, data))


__all__ = [
    "KINDS", "Accepted", "CritiquesReady", "EvalFinished", "EvalStarted", "Event", "Events", "Flagged", "GateDecided",
    "IterationStarted", "Note", "OnEvent", "OodCliff", "OodScored", "ProposalFailed", "ReviewWaiting",
    "RolloutScored", "RunFinished",
    "Screened", "StepAdvanced", "StepFinished", "StepStarted", "Subscriber", "from_legacy", "legacy",
]
