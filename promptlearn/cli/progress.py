"""Rich progress bars with ETA and live accuracy, fed by the loop's events."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


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

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "eval_start":
            self._right = self._done = 0
            label = f"v{data['version']} {data['split']}"
            self._task = self.progress.add_task(label, total=data["n"], acc="-")
        elif kind == "rollout" and self._task is not None:
            self._done += 1
            self._right += int(data["correct"])
            self.progress.update(self._task, advance=1, acc=f"{self._right / self._done:.2f}")
        elif kind == "eval_end" and self._task is not None:
            self.progress.remove_task(self._task)
            self._task = None
            self._log(f"  v{data['version']} {data['split']}: accuracy {data['accuracy']:.3f}")
        elif kind == "step_start":  # a slow reflection step (judge, rewriter): a bar, not minutes of silence
            self._step = self.progress.add_task(data["label"], total=data["n"], acc="-")
        elif kind == "step_advance" and self._step is not None:
            self.progress.update(self._step, advance=1)
        elif kind == "step_end" and self._step is not None:
            self.progress.remove_task(self._step)
            self._step = None
        elif kind == "screen":
            self._log(f"  candidate v{data['version']} ({data['origin']}): screening fixed {data['fixed']}, "
                      f"broke {data['broken']}")
        elif kind == "iteration":
            self._log(f"[bold]iteration {data['iteration']}[/] (current version v{data['version']})")
        elif kind == "gate":
            mark = "[green]accepted[/]" if data["accepted"] else "[yellow]rejected[/]"
            self._log(f"  candidate v{data['version']}: {mark}: {data['reason']}")
        elif kind == "proposal_failed":
            self._log(f"  candidate v{data['version']}: [red]rewriter reply unusable[/]: {data['error']}")
        elif kind == "note":
            self._log(f"  {data['text']}")

    def _log(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text)
