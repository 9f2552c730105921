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

# Words for whoever checks the answer. "judge" only as a noun ("the judge", "judges"): "judge whether the
# argument holds" is a task instruction, not grader talk.
_JUDGE_TALK = re.compile(
    r"\b(the|a|an|this|our|any)\s+judge\b|\bjudges\b|\bjudge's\b|\bgrad(er|ers|ing|ed)\b|\bautograder\b"
    r"|\brubrics?\b|\bevaluators?\b|\bscorers?\b|\bthe\s+tests?\b|\btest\s+cases?\b|\breference\s+answers?\b"
    r"|\banswer\s+key\b|\bmarked\s+(as\s+)?(correct|right)\b|\b(is|are|gets?)\s+rewarded\b",
    re.IGNORECASE,
)
# An answer letter ("(A)", "option B", "answer C") next to a bias word, with no condition on the content.
# Letters are matched case-sensitively so that "answer a question" is not a letter.
_LETTER = re.compile(r"\([A-E]\)|\b(?i:option|choice|letter|answer)\s+\(?[A-E]\)?(?![\w(])")
_BIAS = re.compile(r"\b(always|prefer|preferably|default(s|ing)?\s+to|favou?r|lean\s+towards?|go\s+with|pick|"
                   r"choose|select)\b", re.IGNORECASE)
_GUESS = re.compile(r"\b(if|when)\s+(you\s+are\s+)?(in\s+doubt|unsure|uncertain|not\s+sure)\b", re.IGNORECASE)
_CONDITION = re.compile(r"\b(if|when|whenever|unless|because|since|where|only\s+if)\b", re.IGNORECASE)


def looks_like_injection(*texts: str) -> bool:
    return any(_INJECTION.search(t or "") for t in texts)


def mentions_grader(text: str) -> bool:
    """A rule that talks about the grader rather than the task is a reward-hacking smell."""
    return grader_reason(text) is not None


def grader_reason(text: str) -> str | None:
    """Why `text` reads like reward hacking, or None: it talks about the grader (judge, rubric, scorer, the
    test), or it fixes an answer letter without a reason tied to the content ("always answer (A)", "prefer
    option B", "when unsure pick C")."""
    text = text or ""
    talk = _JUDGE_TALK.search(text)
    if talk:
        return f"mentions the grader ('{talk.group(0)}')"
    letter = _LETTER.search(text)
    if letter and _BIAS.search(text) and not _CONDITION.search(_GUESS.sub(" ", text)):
        # "when unsure" is no reason about the content, so it does not count as a condition.
        return f"fixes an answer letter without a reason ('{letter.group(0)}')"
    return None


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
