"""Scrubbing: secrets and obvious personal data never reach the store (and so never a model or the LM cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptlearn.config import PrivacyConfig, TracesConfig, load_online_config
from promptlearn.errors import ConfigError
from promptlearn.privacy import Scrubber, luhn
from promptlearn.store import Store
from promptlearn.traces import import_traces
from tests.traces.samples import log_lines

EMAIL, PHONE, CARD = "jane.doe+shop@example.co.uk", "+1 (415) 555-0134", "4111 1111 1111 1111"
KEY, ENV_SECRET = "sk-proj-abcdefghijklmnop1234567890", "s3cr3t-value-from-env"
SECRETS = (EMAIL, PHONE, CARD, KEY, ENV_SECRET, "4111111111111111", "415) 555-0134")


def scrubber(**kw: object) -> Scrubber:
    cfg = PrivacyConfig(**kw)  # type: ignore[arg-type]
    return Scrubber(cfg.kinds, cfg.patterns, enabled=cfg.scrub, environ_secrets=[ENV_SECRET])


@pytest.mark.parametrize(("text", "expected"), [
    (f"mail me at {EMAIL} please", "mail me at [EMAIL] please"),
    (f"call {PHONE} today", "call [PHONE] today"),
    ("call 415-555-0134 or 020 7946 0958", "call [PHONE] or [PHONE]"),
    (f"card {CARD} expires", "card [CARD] expires"),
    ("card 4111-1111-1111-1111.", "card [CARD]."),
    (f"my key is {KEY}", "my key is [API_KEY]"),
    ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz", "Authorization: [API_KEY]"),
    ("api_key=hunter2hunter2 and more", "[API_KEY] and more"),
    (f"env {ENV_SECRET} leaked", "env [SECRET] leaked"),
])
def test_each_kind_is_replaced_by_its_placeholder(text: str, expected: str) -> None:
    assert scrubber().scrub(text) == expected


@pytest.mark.parametrize("text", [
    "ticket 12 about billing", "order 2026-01-15 shipped", "version 1.2.3", "refund of 1234.56 USD",
    "4111 1111 1111 1112 is not a valid card", "room 101, floor 3", "the year 1999",
])
def test_ordinary_text_is_kept(text: str) -> None:
    assert scrubber().scrub(text) == text


def test_config_chooses_the_kinds_and_adds_patterns() -> None:
    only_email = scrubber(kinds=("email",))
    assert only_email.scrub(f"{EMAIL} {PHONE}") == f"[EMAIL] {PHONE}"
    custom = scrubber(patterns={"ORDER_ID": r"\bORD-\d{6}\b"})
    assert custom.scrub("order ORD-123456 late") == "order [ORDER_ID] late"
    assert custom.found["ORDER_ID"] == 1
    assert scrubber(scrub=False).scrub(EMAIL) == EMAIL
    assert luhn("4111111111111111") and not luhn("4111111111111112")
    with pytest.raises(ConfigError, match="traces.privacy.patterns"):
        load_online_config(None, **{"traces.privacy.patterns": {"BAD": "("}})
    with pytest.raises(ConfigError, match="traces.privacy.kinds"):
        load_online_config(None, **{"traces.privacy.kinds": ["email", "passport"]})


def test_nothing_scrubbed_is_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_API_TOKEN", ENV_SECRET)
    path = log_lines(tmp_path / "log.jsonl", [
        {"input": f"I am {EMAIL}, card {CARD}, call {PHONE}", "output": f"Noted {EMAIL}",
         "feedback": {"comment": f"it leaked {KEY}", "correction": f"ACCOUNT ({ENV_SECRET})"},
         "metadata": {"user": EMAIL}}])
    db = tmp_path / "t.db"
    store = Store(str(db))
    report = import_traces(store, path, TracesConfig())
    assert report.added == 1 and report.scrubbed["email"] == 3
    [row] = store.traces("default")
    assert row.input == "I am [EMAIL], card [CARD], call [PHONE]" and row.correction == "ACCOUNT ([SECRET])"
    store.engine.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("t.db*"))
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
    assert b"[EMAIL]" in raw  # the scan reads the stored rows (it would find a value if one were there)
