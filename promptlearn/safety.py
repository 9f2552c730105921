"""Flag text that tries to instruct the optimizer (prompt injection) and secrets that must never be stored."""

from __future__ import annotations

import re

_INJECTION = re.compile(
    r"(ignore|disregard|forget)\s+(all\s+|any\s+|the\s+|your\s+)?(previous|above|prior|earlier|rubric|instructions)"
    r"|always\s+(answer|reply|respond|say|output)\b"
    r"|\b(add|write|insert)\s+(a\s+|this\s+)?(rule|bullet|instruction)s?\b"
    r"|\byou\s+are\s+now\b|\bsystem\s+prompt\b|\bnew\s+instructions?\b",
    re.IGNORECASE,
)

_JUDGE_TALK = re.compile(r"\b(judge|grader|rubric|reference answer|scorer|evaluat(or|ion))\b", re.IGNORECASE)


def looks_like_injection(*texts: str) -> bool:
    return any(_INJECTION.search(t or "") for t in texts)


def mentions_grader(text: str) -> bool:
    """A rule that talks about the grader rather than the task is a reward-hacking smell."""
    return bool(_JUDGE_TALK.search(text or ""))
