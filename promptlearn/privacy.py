"""Scrub secrets and obvious personal data from production text before it is stored or shown to any model.

A match becomes a placeholder naming its kind (`[EMAIL]`, `[PHONE]`, ...), so a critique can still say "the
answer repeated the customer's email" without the address. Which kinds are scrubbed, and any extra patterns, come
from `PrivacyConfig` (config.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from promptlearn.safety import secret_values

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Provider keys by their published prefixes, bearer tokens, and `api_key=...` / `password: ...` assignments.
API_KEY = re.compile(
    r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,})"
    r"|(?i:\bbearer\s+)[A-Za-z0-9._~+/-]{16,}=*"
    r"|(?i:\b(?:api[_-]?key|secret|token|password|passwd)\b\s*[:=]\s*)\S{6,}")
# 13-19 digits, optionally grouped by spaces or dashes; kept only when the Luhn check passes.
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# International (+CC ...) or grouped national numbers: 9 to 15 digits in groups (a date has 8, so it stays).
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,5}){1,4}(?![\w-])"
                   r"|(?<![\w+])\+\d{9,15}\b")

KINDS = ("env_secret", "api_key", "email", "card", "phone")  # applied in this order: a key is never a "phone"
PLACEHOLDER = {"env_secret": "[SECRET]", "api_key": "[API_KEY]", "email": "[EMAIL]", "card": "[CARD]",
               "phone": "[PHONE]"}


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@dataclass
class Scrubber:
    """Replaces each enabled kind; `extra` maps a NAME to a regex whose matches become `[NAME]`. `found` counts
    what was replaced, by kind (never the values)."""

    kinds: Sequence[str]
    extra: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    environ_secrets: Sequence[str] | None = None  # None: read credentials from the environment
    found: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown scrub kind(s) {', '.join(unknown)}; choose from {', '.join(KINDS)}")
        self._extra = [(name, re.compile(pattern)) for name, pattern in self.extra.items()]
        self._secrets = list(secret_values() if self.environ_secrets is None else self.environ_secrets)

    def scrub(self, text: str) -> str:
        if not self.enabled or not text:
            return text
        for kind in KINDS:
            if kind in self.kinds:
                text = self._replace(kind, text)
        for name, pattern in self._extra:
            text = self._sub(pattern, f"[{name}]", name, text)
        return text

    def _replace(self, kind: str, text: str) -> str:
        if kind == "env_secret":
            for secret in self._secrets:
                if secret in text:
                    self.found[kind] += text.count(secret)
                    text = text.replace(secret, PLACEHOLDER[kind])
            return text
        if kind == "card":
            def card(match: re.Match[str]) -> str:
                if not luhn(_digits(match.group(0))):
                    return match.group(0)
                self.found["card"] += 1
                return PLACEHOLDER["card"]

            return CARD.sub(card, text)
        if kind == "phone":
            def phone(match: re.Match[str]) -> str:
                if not 9 <= len(_digits(match.group(0))) <= 15:
                    return match.group(0)
                self.found["phone"] += 1
                return PLACEHOLDER["phone"]

            return PHONE.sub(phone, text)
        return self._sub(API_KEY if kind == "api_key" else EMAIL, PLACEHOLDER[kind], kind, text)

    def _sub(self, pattern: re.Pattern[str], placeholder: str, kind: str, text: str) -> str:
        new, count = pattern.subn(placeholder, text)
        self.found[kind] += count
        return new
