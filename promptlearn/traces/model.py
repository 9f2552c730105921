"""A recorded production call and the feedback a user gave on it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from promptlearn.config import TracesConfig


@dataclass(frozen=True)
class Feedback:
    """What a user said about a recorded output. Any part may be missing."""

    score: float | None = None
    label: str | None = None
    comment: str | None = None
    correction: str | None = None  # the output the user says was right: it becomes the example's target

    @property
    def empty(self) -> bool:
        return self.score is None and not self.label and not self.comment and not self.correction

    def verdict_on(self, output: str, cfg: TracesConfig) -> str | None:
        """The user's verdict on `output`: a correction that differs from it is a fail; else the thumbs."""
        if self.correction is not None and self.correction.strip() and self.correction.strip() != output.strip():
            return "fail"
        return self.verdict(cfg)

    def verdict(self, cfg: TracesConfig) -> str | None:
        """The user's thumbs as `pass` / `fail`, or None when the feedback does not say; a label is read before a
        score."""
        if self.label:
            label = self.label.strip().lower()
            if label in cfg.good_labels:
                return "pass"
            if label in cfg.bad_labels:
                return "fail"
        if self.score is not None:
            return "pass" if self.score >= cfg.good_score else "fail"
        return None


@dataclass(frozen=True)
class Trace:
    """One recorded call. `key` makes importing idempotent: `span:<span id>` for spans, `id:<id>` for a log line
    that names its own id, else `sha256:<hash of the line without its feedback>`."""

    key: str
    input: str
    output: str
    feedback: Feedback = Feedback()
    source: str = ""  # file:line
    metadata: dict[str, Any] = field(default_factory=dict)

    def verdict(self, cfg: TracesConfig) -> str | None:
        """The user's verdict on the recorded output: a correction that differs from it is a fail."""
        return self.feedback.verdict_on(self.output, cfg)

    def with_feedback(self, feedback: Feedback) -> Trace:
        return replace(self, feedback=feedback)


@dataclass(frozen=True)
class Malformed:
    """A span or line that could not be read: where, and which field."""

    file: str
    line: int
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.why}"
