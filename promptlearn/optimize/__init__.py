"""`optimize`: seed prompt in, tuned playbook out, every step stored and resumable."""

from __future__ import annotations

from collections.abc import Sequence

from promptlearn.config import RunConfig
from promptlearn.lm import LM
from promptlearn.optimize import setup as _setup
from promptlearn.optimize.events import Events, OnEvent, Subscriber, legacy
from promptlearn.optimize.loop import Loop
from promptlearn.optimize.result import OptimizeResult
from promptlearn.store import Store

__all__ = ["optimize", "OptimizeResult"]


def optimize(config: RunConfig | None = None, *, resume: str | None = None, store: Store | None = None,
             db: str | None = None, lm: LM | None = None, on_event: OnEvent | None = None,
             subscribers: Sequence[Subscriber] = ()) -> OptimizeResult:
    """Run (or, with `resume=RUN_ID`, continue) an optimization. `lm` replaces the real models (a FakeLM).
    `subscribers` get each typed event (optimize/events.py); `on_event(kind, data)` gets them untyped."""
    store = store or Store(db)
    setup = _setup.resume(resume, store, inner=lm) if resume else _setup.start(config or RunConfig(), store, inner=lm)
    try:
        return Loop(setup, Events([*subscribers, *([legacy(on_event)] if on_event else [])])).run()
    except BaseException as exc:
        store.finish_run(setup.run_id, "stopped", {"error": f"{type(exc).__name__}: {exc}"[:500],
                                                   "faults": setup.faults()})
        raise
