"""Store tests on both backends. `db_url` is a fresh, empty database per test: a SQLite file, or a database on
one throwaway PostgreSQL server that the session starts on loopback (only when a test asks for it) and stops at
the end. Without PostgreSQL's binaries the postgresql cases skip, saying how to install them; under CI
(`$CI` set) they fail instead, so a CI machine never goes green without having tested PostgreSQL.
Registered as a plugin in conftest.py."""

from __future__ import annotations

import importlib.util
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from promptlearn.store.pgserver import INSTALL_HINT, PostgresUnavailable, TempPostgres

BACKENDS = ["sqlite", "postgresql"]
_numbers = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TempPostgres]:
    server = TempPostgres()
    missing = None
    if server.bin is None:
        missing = f"no PostgreSQL server binaries (initdb, pg_ctl); {INSTALL_HINT}"
    elif importlib.util.find_spec("psycopg") is None:
        missing = "no PostgreSQL driver: pip install -e '.[postgres]' (make test does)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test the PostgreSQL store; {missing}", pytrace=False)
        pytest.skip(missing)
    try:
        server.start()
    except PostgresUnavailable as exc:  # installed but broken: say so, never skip quietly
        server.stop()
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: TempPostgres) -> Iterator[str]:
    """A new empty database on the session's server (about 0.1 s), dropped after the test."""
    name = f"t{os.getpid()}_{next(_numbers)}"
    url = pg_server.create_database(name)
    yield url
    pg_server.drop_database(name)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each backend: a SQLite path, or a postgresql:// URL (with a password)."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    url: str = request.getfixturevalue("pg_url")
    return url
