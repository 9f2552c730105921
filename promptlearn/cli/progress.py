"""Rich progress bars with ETA and live accuracy, fed by the loop's typed events (promptlearn/optimize/events.py).

`EventProgress` is a subscriber (`optimize(subscribers=[progress])`); called as `progress(kind, data)` it takes
the untyped form too, as `optimize(on_event=progress)` and older callers hand it.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from promptlearn.optimize.events import (
    EvalFinished,
    EvalStarted,
    Event,
    GateDecided,
    IterationStarted,
    Note,
    ProposalFailed,
    RolloutScored,
    Screened,
    StepAdvanced,
    StepFinished,
    StepStarted,
    from_legacy,
)


class EventProgress:
    def __init__(self, console: Console, quiet: bool = False):
        self.console, self.quiet = console, quiet
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("acc {task.fields[acc]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=console, transient=True, disable=quiet)
        self._task: Any = None
        self._step: Any = None
        self._right = self._done = 0

    def __enter__(self) -> EventProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, event: Event | str, data: dict[str, Any] | None = None) -> None:
        """A typed event, or (kind, data) as untyped callers give it; a kind this view does not know is skipped."""
        if isinstance(event, str):
            try:
                event = from_legacy(event, data or {})
            except (KeyError, TypeError):
                return
        if not self._bar(event):
            self._line(event)

    def _bar(self, event: Event) -> bool:
        """Bars: one per evaluation (with live accuracy) and one per slow reflection step (judge, rewriter), not
        minutes of silence. True when the event was a bar's."""
        match event:
            case EvalStarted(split=split, version=version, n=n):
                self._right = self._done = 0
                self._task = self.progress.add_task(f"v{version} {split}", total=n, acc="-")
            case RolloutScored(correct=correct) if self._task is not None:
                self._done += 1
                self._right += int(correct)
                self.progress.update(self._task, advance=1, acc=f"{self._right / self._done:.2f}")
            case EvalFinished(split=split, version=version, accuracy=accuracy) if self._task is not None:
                self.progress.remove_task(self._task)
                self._task = None
                self._log(f"  v{version} {split}: accuracy {accuracy:.3f}")
            case StepStarted(label=label, n=n):
                self._step = self.progress.add_task(label, total=n, acc="-")
            case StepAdvanced() if self._step is not None:
                self.progress.update(self._step, advance=1)
            case StepFinished() if self._step is not None:
                self.progress.remove_task(self._step)
                self._step = None
            case _:
                return False
        return True

    def _line(self, event: Event) -> None:
        match event:
            case Screened(version=version, origin=origin, fixed=fixed, broken=broken):
                self._log(f"  candidate v{version} ({origin}): screening fixed {fixed}, broke {broken}")
            case IterationStarted(iteration=iteration, version=version):
                self._log(f"[bold]iteration {iteration}[/] (current version v{version})")
            case GateDecided(version=version, accepted=accepted, reason=reason):
                mark = "[green]accepted[/]" if accepted else "[yellow]rejected[/]"
                self._log(f"  candidate v{version}: {mark}: {reason}")
            case ProposalFailed(version=version, error=error):
                self._log(f"  candidate v{version}: [red]rewriter reply unusable[/]: {error}")
            case Note(text=text):
                self._log(f"  {text}")

    def _log(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text)
