"""What differs between the SQLite and PostgreSQL stores: URLs, connection errors (one line, password masked),
text PostgreSQL cannot hold, and the batched LM-call writes the benchmark uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from promptlearn.cli.main import app
from promptlearn.errors import StoreError
from promptlearn.lm import Completion, LMRequest, Usage
from promptlearn.store import Store
from promptlearn.store.engine import mask_url, to_url
from promptlearn.store.pgserver import TempPostgres


def request(i: int) -> LMRequest:
    return LMRequest.chat("fake/m", [{"role": "user", "content": f"q{i}"}])


def test_urls_name_the_backend_and_driver(tmp_path: Path) -> None:
    assert to_url("postgres://u:pw@h:5432/db") == "postgresql+psycopg://u:pw@h:5432/db"
    assert to_url("postgresql://u:pw@h/db") == "postgresql+psycopg://u:pw@h/db"
    assert to_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"  # an explicit driver stays
    assert to_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    assert mask_url("postgresql://u:s3cret@h:5/db") == "postgresql://u:***@h:5/db"
    assert "s3cret" not in mask_url("postgresql://u:s3cret@h:notaport/db")


def test_the_store_shows_its_url_without_the_password(pg_url: str) -> None:
    store = Store(pg_url)
    password = make_url(pg_url).password
    assert password and password not in store.safe_url and "***" in store.safe_url
    assert store.engine.dialect.name == "postgresql" and store.engine.driver == "psycopg"


def one_line(exc: pytest.ExceptionInfo[StoreError], secret: str, *needles: str) -> str:
    text = str(exc.value)
    assert "\n" not in text and secret not in text and "***" in text
    for needle in needles:
        assert needle in text
    return text


def test_a_wrong_password_is_one_clear_line(pg_server: TempPostgres, pg_url: str) -> None:
    bad = pg_url.replace(pg_server.password, "wrong-pass-123")
    with pytest.raises(StoreError) as exc:
        Store(bad)
    one_line(exc, "wrong-pass-123", "cannot connect to postgresql+psycopg://promptlearn:***@127.0.0.1",
             "password authentication failed", "check the user and password")


def test_an_unreachable_server_is_one_clear_line(pg_server: TempPostgres) -> None:
    with pytest.raises(StoreError) as exc:
        Store(f"postgres://promptlearn:{pg_server.password}@127.0.0.1:1/db")
    one_line(exc, pg_server.password, ":1/db", "Connection refused", "server is running")


def test_a_missing_database_says_to_create_it(pg_server: TempPostgres) -> None:
    with pytest.raises(StoreError) as exc:
        Store(pg_server.url("no_such_db"))
    one_line(exc, pg_server.password, "no_such_db", "does not exist", "createdb no_such_db")


def test_unsupported_databases_are_refused_up_front() -> None:
    with pytest.raises(StoreError, match="SQLite or PostgreSQL, not mysql"):
        Store("mysql://u:pw@localhost/db")


def test_the_cli_takes_a_postgresql_url_and_reports_a_bad_one(pg_server: TempPostgres, pg_url: str) -> None:
    runner = CliRunner()
    Store(pg_url).create_run("eval", "on-postgres", {}, run_id="pg1")
    shown = runner.invoke(app, ["runs", "list", "--db", pg_url])
    assert shown.exit_code == 0 and "on-postgres" in shown.output
    bad = runner.invoke(app, ["runs", "list", "--db", pg_url.replace(pg_server.password, "nope-nope")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output and "nope-nope" not in bad.output
    assert bad.output.strip().startswith("error: cannot connect to")


def test_text_with_a_nul_character_is_stored_on_both(db_url: str) -> None:
    store = Store(db_url)
    store.record_call(request(0), Completion(text="a\x00b"), None)
    cached = store.cached_completion(request(0).key)
    expected = "a\x00b" if store.engine.dialect.name == "sqlite" else "a\ufffdb"  # PostgreSQL text has no NUL
    assert cached is not None and cached.text == expected


def test_batched_calls_keep_one_row_per_key_and_let_a_success_win(db_url: str) -> None:
    store = Store(db_url)
    store.record_call(request(0), Completion(text="", error="down"), "r0")
    store.record_call(request(1), Completion(text="kept"), "r0")
    calls = [(request(i), Completion(text=f"a{i}", usage=Usage(2, 1))) for i in range(7)]
    calls += [(request(1), Completion(text="", error="late failure")), (request(2), Completion(text="twice"))]
    assert store.record_calls(calls, "r1", batch=3) == 9
    texts = {i: store.cached_completion(request(i).key) for i in range(7)}
    assert {i: c.text if c else None for i, c in texts.items()} == {0: "a0", 1: "kept", **{i: f"a{i}" for i in
                                                                                            range(2, 7)}}
    assert store.call_stats()["calls"] == 7 and store.call_stats("r1")["calls"] == 5
