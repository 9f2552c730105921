"""What every scorer shares: the `Score` it returns, the `Scorer` protocol, and the guard that turns empty outputs
and crashes into a 0 with a reason."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from promptlearn.data.datasets import Example


@dataclass(frozen=True)
class Score:
    """`parsed` is the normalized answer pulled from the output ("(B)", "yes", "42"), used for answer distributions."""

    value: float
    reason: str
    parsed: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.value <= 1.0:
            raise ValueError(f"Score.value must be in [0, 1], got {self.value!r}")


@runtime_checkable
class Scorer(Protocol):
    name: str

    def __call__(self, output: str, example: Example) -> Score: ...


def clip(text: str, limit: int = 40) -> str:
    """A short one-line excerpt, so a reason stays one readable line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def show(text: str, limit: int = 40) -> str:
    return repr(clip(text, limit))


class SafeScorer:
    """Shared guard: empty output scores 0, and any failure inside a scorer becomes a 0 with the reason."""

    name = "scorer"
    # Whether a failing score's reason says more than "expected X, got Y" (which rules failed, that no option letter
    # was found): such a reason is shown to the judge and the rewriter as the automatic check's finding.
    explains_failures = False

    def __call__(self, output: str, example: Example) -> Score:
        text = output if isinstance(output, str) else ("" if output is None else str(output))
        if not text.strip():
            return Score(0.0, "the output is empty (the model returned nothing or failed)")
        try:
            score = self.score(text, example)
        except Exception as exc:  # a crash in one scorer call must not end the run; the reason keeps it visible
            score = Score(0.0, f"scorer '{self.name}' failed on this output: {type(exc).__name__}: {exc}")
        # Reasons are shown one per line in reports, so keep them to one short line whatever the text held.
        return replace(score, reason=clip(score.reason, 300))

    def score(self, output: str, example: Example) -> Score:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
