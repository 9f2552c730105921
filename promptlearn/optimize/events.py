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
from typing import Any, ClassVar, Protocol, TypeVar, dataclass_transform

OnEvent = Callable[[str, dict[str, Any]], None]  # the untyped form: (kind, data)


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = ""

    def data(self) -> dict[str, Any]:
        """The fields as a dict, what `on_event(kind, data)` callers get; an optional field left unset is left
        out (a `Flagged` audit has no text)."""
        return {f.name: value for f in dataclasses.fields(self)
                if not ((value := getattr(self, f.name)) is None and f.default is None)}


KINDS: dict[str, type[Event]] = {}  # every event class by its kind, filled by `@event`
_E = TypeVar("_E", bound=type[Event])


@dataclass_transform(frozen_default=True)
def event(kind: str) -> Callable[[_E], _E]:
    """Declare an event class: a frozen dataclass known by `kind` (what `on_event(kind, data)` callers see)."""
    def declare(cls: _E) -> _E:
        cls.kind = kind
        KINDS[kind] = dataclass(frozen=True)(cls)  # made a frozen dataclass in place: the same class
        return cls

    return declare


@event("iteration")
class IterationStarted(Event):
    iteration: int
    version: int  # the current version the iteration starts from


@event("eval_start")
class EvalStarted(Event):
    split: str
    version: int
    n: int


@event("rollout")
class RolloutScored(Event):
    split: str
    version: int
    correct: bool


@event("eval_end")
class EvalFinished(Event):
    split: str
    version: int
    accuracy: float


@event("step_start")
class StepStarted(Event):
    """A slow reflection step (the judge's critiques, a rewriter call) of `n` units."""

    label: str
    n: int


@event("step_advance")
class StepAdvanced(Event):
    pass


@event("step_end")
class StepFinished(Event):
    pass


@event("critiques")
class CritiquesReady(Event):
    n: int  # critiques of failures handed to the rewriter


@event("proposal_failed")
class ProposalFailed(Event):
    version: int
    error: str | None


@event("screen")
class Screened(Event):
    version: int
    origin: str  # rules | examples | merge
    fixed: int
    broken: int


@event("gate")
class GateDecided(Event):
    version: int
    accepted: bool
    reason: str
    diff: float


@event("accepted")
class Accepted(Event):
    version: int
    bullets: int


@event("flag")
class Flagged(Event):
    """A reward-hacking smell: a bullet's text, or (`bullet="audit"`) gains a second judge does not see."""

    version: int
    bullet: str
    reason: str
    text: str | None = None


@event("ood")
class OodScored(Event):
    version: int
    accuracy: float
    diff: float
    flagged: bool


@event("ood_cliff")
class OodCliff(Event):
    version: int
    dataset: str
    diff: float
    low: float
    high: float


@event("review")
class ReviewWaiting(Event):
    """A candidate passed the gate and waits for a person (gate.review): the run stops here."""

    version: int
    run_id: str


@event("note")
class Note(Event):
    text: str


@event("done")
class RunFinished(Event):
    run_id: str


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
