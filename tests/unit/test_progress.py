"""The CLI's progress view of the loop's events: slow steps get a bar, screening and gate decisions a line."""

from __future__ import annotations

from rich.console import Console

from promptlearn.cli.progress import EventProgress


def test_steps_screening_and_gate_are_shown() -> None:
    console = Console(record=True, width=120, force_terminal=False)
    with EventProgress(console) as view:
        view("step_start", {"label": "judge: critiques", "n": 3})
        assert view._step is not None and view.progress.tasks[0].description == "judge: critiques"
        view("step_advance", {})
        assert view.progress.tasks[0].completed == 1
        view("step_end", {})
        assert view._step is None and not view.progress.tasks
        view("screen", {"version": 3, "origin": "examples", "fixed": 2, "broken": 0})
        view("gate", {"version": 3, "accepted": True, "reason": "gain +0.200", "diff": 0.2})
    text = console.export_text()
    assert "candidate v3 (examples): screening fixed 2, broke 0" in text
    assert "candidate v3: accepted: gain +0.200" in text


def test_typed_events_drive_the_same_view() -> None:
    from promptlearn.optimize.events import EvalFinished, EvalStarted, RolloutScored

    console = Console(record=True, width=120, force_terminal=False)
    with EventProgress(console) as view:
        view(EvalStarted("eval", 0, 2))
        view(RolloutScored("eval", 0, True))
        assert view.progress.tasks[0].completed == 1
        view(EvalFinished("eval", 0, 0.5))
        view("unknown kind", {})  # an untyped kind the view does not know is skipped
    assert "v0 eval: accuracy 0.500" in console.export_text()
