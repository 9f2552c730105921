"""The `numeric` scorer: the answer's number ("1,234", "-2.5", "seven") within a tolerance of the target's."""

from __future__ import annotations

import math
import re

from promptlearn.data.datasets import Example
from promptlearn.data.scorers.base import SafeScorer, Score, show
from promptlearn.errors import ConfigError

_NUMBER_WORDS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
]  # fmt: skip
# A minus counts only when it is not a range dash ("3-5"); thousands separators need groups of exactly 3 digits.
_NUMBER = re.compile(
    r"(?:(?<![\w.\-−])[-−])?(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\d)"
    r"|\b(?:" + "|".join(_NUMBER_WORDS) + r")\b",
    re.IGNORECASE,
)
_NUMBER_MARKER = re.compile(r"\banswer\b(?:\s+is)?\s*[:=]?", re.IGNORECASE)


def _to_float(token: str) -> float:
    word = token.casefold()
    if word in _NUMBER_WORDS:
        return float(_NUMBER_WORDS.index(word))
    return float(token.replace(",", "").replace("−", "-"))


def parse_number(text: str) -> float | None:
    """The whole text as one number ("1,234", "-2.5", "seven"), or None."""
    match = _NUMBER.fullmatch(text.strip().rstrip("."))
    return _to_float(match.group(0)) if match else None


def _extract_number(output: str) -> float | None:
    """The first number after the last "answer is" marker, else the last number in the output."""
    markers = list(_NUMBER_MARKER.finditer(output))
    if markers:
        after = _NUMBER.search(output, markers[-1].end())
        if after:
            return _to_float(after.group(0))
    numbers = _NUMBER.findall(output)
    return _to_float(numbers[-1]) if numbers else None


def _format_number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


class NumericTolerance(SafeScorer):
    def __init__(self, rel: float = 1e-6, abs: float = 1e-9) -> None:  # "abs" mirrors math.isclose's abs_tol
        if rel < 0 or abs < 0:
            raise ConfigError(f"numeric scorer: rel and abs tolerances must be >= 0, got rel={rel}, abs={abs}")
        self.rel = rel
        self.abs = abs
        self.name = "numeric"

    def score(self, output: str, example: Example) -> Score:
        want = parse_number(example.target)
        if want is None:
            return Score(0.0, f"the target {show(example.target)} is not a number; use another scorer")
        got = _extract_number(output)
        if got is None:
            return Score(0.0, f"no number found in the output (expected {_format_number(want)})")
        parsed = _format_number(got)
        if math.isclose(got, want, rel_tol=self.rel, abs_tol=self.abs):
            return Score(1.0, f"answered {parsed}, which is correct", parsed)
        return Score(0.0, f"answered {parsed}, expected {_format_number(want)}", parsed)
