"""The `choice` scorer: option letters ("(B)", "b)", "Answer: B") and yes/no, true/false, valid/invalid answers."""

from __future__ import annotations

import re

from promptlearn.data.datasets import Example
from promptlearn.data.scorers.base import SafeScorer, Score, show

_WORD_FAMILIES = (("yes", "no"), ("true", "false"), ("valid", "invalid"))
_LETTER_TARGET = re.compile(r"^\(?([A-Za-z])\)?\.?$")
_MARKER = r"(?i:\banswer\b(?:\s+is|\s+would\s+be|\s+should\s+be)?)\s*[:=\-]?\s*(?i:option\s+|choice\s+)?[*\"'“]*\s*"
_OPTION = r"(?:\(([A-Za-z])\)|([A-Za-z])\)|((?!I)[A-Z])(?![A-Za-z0-9'’])|([a-z])(?=\s*[.,;!]?\s*$))"
_MARKED_LETTER = re.compile(_MARKER + _OPTION)
_LONE_LETTER = re.compile(r"^\W*\(?([A-Za-z])\)?\W*$")
_BRACKETED_LETTER = re.compile(r"(?<![A-Za-z])\(?([A-Za-z])\)")
_BARE_LETTER = re.compile(r"(?<![A-Za-z'’])([A-Z])(?![A-Za-z0-9'’])")
_ARTICLE_AFTER = re.compile(r"\s+(?!is\b|was\b|seems\b)[a-z]")
_INPUT_OPTION = re.compile(r"^\s*\(([A-Z])\)", re.MULTILINE)


def choice_target(target: str) -> tuple[str, tuple[str, ...]] | None:
    """("(B)", ()) for a letter target, ("yes", ("yes", "no")) for a word target, None for anything else."""
    text = target.strip()
    letter = _LETTER_TARGET.match(text)
    if letter:
        return f"({letter.group(1).upper()})", ()
    word = text.rstrip(".!").casefold()
    family = next((f for f in _WORD_FAMILIES if word in f), None)
    return (word, family) if family else None


def _marked_letters(output: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in _MARKED_LETTER.finditer(output)]


def _lone_letter(output: str) -> list[str]:
    match = _LONE_LETTER.match(output)
    return [match.group(1)] if match else []


def _bracketed_letters(output: str) -> list[str]:
    return [m.group(1) for m in _BRACKETED_LETTER.finditer(output)]


def _bare_letters(output: str) -> list[str]:
    # "I" is nearly always the pronoun and "A dog" the article, so neither counts as an option on its own.
    found = []
    for m in _BARE_LETTER.finditer(output):
        letter = m.group(1)
        if letter == "I" or (letter == "A" and _ARTICLE_AFTER.match(output, m.end())):
            continue
        found.append(letter)
    return found


def _extract_letter(output: str, allowed: set[str] | None) -> str | None:
    """The explicit "answer is" marker wins; else the last option-like letter, strongest pattern first."""
    for finder in (_marked_letters, _lone_letter, _bracketed_letters, _bare_letters):
        letters = [x.upper() for x in finder(output) if allowed is None or x.upper() in allowed]
        if letters:
            return f"({letters[-1]})"
    return None


def _extract_word(output: str, family: tuple[str, ...]) -> str | None:
    words = "|".join(family)
    marked = re.findall(_MARKER + rf"\b({words})\b", output, re.IGNORECASE)
    found = marked or re.findall(rf"\b({words})\b", output, re.IGNORECASE)
    return found[-1].casefold() if found else None


# Options joined by "or", "nor", "/" or "vs" ("valid or invalid", "yes/no", "(A), (B) or (C)") are the model
# restating the choice, not making it; a bare comma alone does not make a list ("Answer: C, B is out").
_LIST_SEP = r"\s*(?:,\s*(?:n?or\s+)?|/|\bn?or\b|\bvs\b\.?|\bversus\b)\s*"
_LIST_WORD = re.compile(r"/|\bn?or\b|\bvs\b|\bversus\b", re.IGNORECASE)
_EMPHASIS = r"[*_\"'`“”‘’]*"  # "**Yes** or **No**" is the same list in markdown
_LIST_PLACEHOLDER = " … "


def _option_list(item: str, flags: int = 0) -> re.Pattern[str]:
    item = f"{_EMPHASIS}{item}{_EMPHASIS}"
    return re.compile(rf"{item}(?:{_LIST_SEP}{item})+", flags)


def _word_lists(family: tuple[str, ...]) -> list[re.Pattern[str]]:
    item = rf"\b(?:{'|'.join(family)})\b"
    # "valid or not" offers the same choice as "valid or invalid" while naming only one option.
    return [_option_list(item, re.IGNORECASE), re.compile(rf"{item}\s+or\s+not\b", re.IGNORECASE)]


def _letter_lists(allowed: set[str] | None) -> list[re.Pattern[str]]:
    # Only the question's own letters, so "N/A" is not read as options N and A of an (A)-(E) question.
    letters = "".join(sorted(allowed)) if allowed else "A-Z"
    item = rf"(?:\([{letters}{letters.lower()}]\)|(?<![A-Za-z])[{letters}]\)?(?![A-Za-z0-9]|['’][a-z]))"
    return [_option_list(item)]


def _strip_option_lists(output: str, patterns: list[re.Pattern[str]]) -> tuple[str, list[str]]:
    """The output with every list of options blanked out, and the lists that were blanked."""
    found: list[str] = []

    def blank(match: re.Match[str]) -> str:
        if not _LIST_WORD.search(match.group(0)):  # commas alone: see _LIST_SEP
            return match.group(0)
        found.append(match.group(0))
        return _LIST_PLACEHOLDER

    for pattern in patterns:
        output = pattern.sub(blank, output)
    return output, found


def _allowed_letters(example: Example, target: str) -> set[str] | None:
    letters = set(_INPUT_OPTION.findall(example.input))
    return letters | {target[1]} if letters else None


class MultipleChoice(SafeScorer):
    """Option letters ("(B)", "b)", "Answer: B") and yes/no, true/false, valid/invalid answers. An output that
    only lists the options ("valid or invalid", "(A) or (B)") chose none: it scores 0, unparsed."""

    explains_failures = True

    def __init__(self) -> None:
        self.name = "choice"

    def score(self, output: str, example: Example) -> Score:
        kind = choice_target(example.target)
        if kind is None:
            return self._as_text(output, example)
        want, family = kind
        allowed = None if family else _allowed_letters(example, want)
        # Options the model only listed are blanked first, so an answer found is one the model actually gave.
        text, listed = _strip_option_lists(output, _word_lists(family) if family else _letter_lists(allowed))
        got = _extract_word(text, family) if family else _extract_letter(text, allowed)
        if got is None and listed:
            return Score(0.0, f"named several options ({show(listed[-1])}) without choosing one (expected {want})")
        if got is None:
            what = "/".join(family) if family else "option letter"
            return Score(0.0, f"no {what} answer found in the output (expected {want})")
        if got == want:
            return Score(1.0, f"answered {got}, which is correct", got)
        return Score(0.0, f"answered {got}, expected {want}", got)

    def _as_text(self, output: str, example: Example) -> Score:
        got = output.strip().rstrip(".").casefold()
        if got == example.target.strip().rstrip(".").casefold():
            return Score(1.0, "matches the target (not an option letter or yes/no, compared as text)", got)
        return Score(0.0, f"expected {show(example.target)}, got {show(output)} (compared as text)", got)
