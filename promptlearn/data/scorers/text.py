"""Scorers that compare text: `exact`, `regex:<pattern>`, `label:A,B,C`, and a user's `python:module:function`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from promptlearn.data.datasets import Example
from promptlearn.data.scorers.base import SafeScorer, Score, clip, show
from promptlearn.errors import ConfigError


class ExactMatch(SafeScorer):
    def __init__(self, strip: bool = True, case_sensitive: bool = False) -> None:
        self.strip = strip
        self.case_sensitive = case_sensitive
        self.name = "exact"

    def _normalize(self, text: str) -> str:
        text = text.strip() if self.strip else text
        return text if self.case_sensitive else text.casefold()

    def score(self, output: str, example: Example) -> Score:
        got = self._normalize(output)
        if got == self._normalize(example.target):
            return Score(1.0, "matches the target exactly", got)
        return Score(0.0, f"expected {show(example.target)}, got {show(output)}", got)


class RegexMatch(SafeScorer):
    """Scores 1 when `pattern` is found; `{target}` in the pattern stands for the escaped target text."""

    def __init__(self, pattern: str, ignore_case: bool = False) -> None:
        self.flags = re.IGNORECASE if ignore_case else 0
        try:
            re.compile(pattern.replace("{target}", "x"), self.flags)
        except re.error as exc:
            message = f"scorer 'regex:{pattern}': invalid regular expression ({exc}); fix the pattern"
            raise ConfigError(message) from None
        self.pattern = pattern
        self.name = f"regex:{pattern}"

    def score(self, output: str, example: Example) -> Score:
        # str.replace rather than str.format: regex quantifiers like \d{3} would break format().
        pattern = self.pattern.replace("{target}", re.escape(example.target.strip()))
        match = re.search(pattern, output, self.flags)
        if match:
            return Score(1.0, f"the output matches /{clip(pattern, 60)}/", match.group(0))
        return Score(0.0, f"the output does not match /{clip(pattern, 60)}/")


class PythonFunction(SafeScorer):
    """Wraps `fn(output, example) -> float | bool | Score`; exceptions and bad return values score 0."""

    explains_failures = True

    def __init__(self, fn: Callable[[str, Example], Any], name: str | None = None) -> None:
        if not callable(fn):
            raise ConfigError(f"scorer {name or fn!r}: expected a function (output, example) -> float, got {fn!r}")
        self.fn = fn
        qualname = getattr(fn, "__qualname__", type(fn).__name__)
        self.name = name or f"python:{getattr(fn, '__module__', '?')}:{qualname}"

    def score(self, output: str, example: Example) -> Score:
        result = self.fn(output, example)
        if isinstance(result, Score):
            return result
        if isinstance(result, bool):
            return Score(float(result), f"{self.name} returned {result}")
        if isinstance(result, int | float) and 0.0 <= result <= 1.0:
            return Score(float(result), f"{self.name} returned {result:g}")
        return Score(0.0, f"{self.name} returned {result!r:.40}; return a float in [0, 1], a bool or a Score")


_QUOTES = "\"'`“”‘’"


def _bare_label(text: str) -> str:
    """Strip whitespace, one pair of surrounding quotes and a trailing period, in either order."""
    text = text.strip()
    for _ in range(2):
        text = text.removesuffix(".").strip()
        if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
            text = text[1:-1].strip()
    return text


class ExactLabel(SafeScorer):
    """Strict on purpose: only the bare label counts, which rewards prompts that make the model answer tersely."""

    def __init__(self, labels: list[str] | str) -> None:
        if isinstance(labels, str):
            labels = labels.split(",")
        cleaned = [label.strip() for label in labels if isinstance(label, str) and label.strip()]
        if not cleaned or len(cleaned) != len(labels):
            raise ConfigError(f"label scorer: labels must be non-empty strings, got {labels!r}; e.g. label:A,B,C")
        self.labels = cleaned
        self._canonical = {label.casefold(): label for label in cleaned}
        self.name = "label:" + ",".join(cleaned)

    def score(self, output: str, example: Example) -> Score:
        got = _bare_label(output)
        want = _bare_label(example.target)
        parsed = self._canonical.get(got.casefold())
        if got.casefold() == want.casefold():
            return Score(1.0, f"answered the bare label '{clip(want)}'", parsed or got)
        words = len(got.split())
        shown = f"a {words}-word sentence" if words > 4 else show(got)
        return Score(0.0, f"expected '{clip(want)}', got {shown}", parsed)
