"""Flag text that tries to instruct the optimizer (prompt injection) and secrets that must never be stored."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

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


_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.IGNORECASE)
REDACTED = "[REDACTED]"


def secret_values(environ: Mapping[str, str] = os.environ) -> list[str]:
    """Values of the environment variables that hold credentials (OPENAI_API_KEY, HF_TOKEN, ..._SECRET), longest
    first; short values are skipped so that a flag like `KEY=1` cannot blank out ordinary text."""
    return sorted({v for k, v in environ.items() if _SECRET_NAME.search(k) and len(v) >= 8}, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """`text` with every credential from the environment replaced (a provider error can quote the API key)."""
    for secret in secret_values() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text
