"""Typed events: subscribers get frozen dataclasses; `on_event(kind, data)` callers get the same events untyped,
with the keys they always had."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptlearn import optimize
from promptlearn.optimize.events import (
    KINDS,
    EvalStarted,
    Event,
    Flagged,
    GateDecided,
    IterationStarted,
    RunFinished,
    StepAdvanced,
    from_legacy,
    legacy,
)
from promptlearn.store import Store
from tests.fakes_task import GOOD_RULE, add, world
from tests.unit.test_optimize import config


def test_typed_and_untyped_subscribers_see_the_same_run(tmp_path: Path) -> None:
    typed: list[Event] = []
    untyped: list[tuple[str, dict[str, Any]]] = []
    result = optimize(config(tmp_path), store=Store(str(tmp_path / "db.sqlite")), lm=world([add(GOOD_RULE)]),
                      subscribers=[typed.append], on_event=lambda kind, data: untyped.append((kind, data)))
    assert [(e.kind, e.data()) for e in typed] == untyped
    assert isinstance(typed[0], EvalStarted) and typed[0] == EvalStarted("test", 0, 20)
    assert typed[-1] == RunFinished(result.run_id)
    assert any(isinstance(e, IterationStarted) for e in typed)
    gates = [e for e in typed if isinstance(e, GateDecided)]
    assert gates and gates[0].accepted and gates[0].version == 1


def test_the_untyped_form_keeps_todays_keys() -> None:
    sink: list[tuple[str, dict[str, Any]]] = []
    subscriber = legacy(lambda kind, data: sink.append((kind, data)))
    subscriber(GateDecided(3, False, "rejected: no gain", -0.1))
    subscriber(Flagged(2, "audit", "judges disagree"))  # an audit flag has no text
    subscriber(StepAdvanced())
    assert sink == [("gate", {"version": 3, "accepted": False, "reason": "rejected: no gain", "diff": -0.1}),
                    ("flag", {"version": 2, "bullet": "audit", "reason": "judges disagree"}),
                    ("step_advance", {})]


def test_each_kind_round_trips_through_its_untyped_form() -> None:
    assert len(KINDS) == 18
    event = Flagged(1, "rul-00001", "mentions the grader", "the grader wants X")
    assert from_legacy(event.kind, event.data()) == event
    with pytest.raises(KeyError):
        from_legacy("no such kind", {})
