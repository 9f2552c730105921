"""Which database a URL names, and an engine for it: a SQLite file (WAL, busy timeout) or a PostgreSQL server
(psycopg 3). Everything dialect-specific about connecting lives here; no message ever shows a password."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from promptlearn.errors import StoreError
from promptlearn.safety import redact, secret_values

SUPPORTED = ("sqlite", "postgresql")
PG_CONNECT_TIMEOUT_S = 10  # an unreachable host fails in seconds instead of hanging a run


def default_url() -> str:
    """`$PROMPTLEARN_DB` (a path or a database URL), else a SQLite file in the user's data directory."""
    value = os.environ.get("PROMPTLEARN_DB") or str(Path(user_data_dir("promptlearn")) / "promptlearn.db")
    return to_url(value)


def to_url(value: str) -> str:
    """A path becomes a SQLite URL. `postgres://` (Heroku's spelling) and `postgresql://` use psycopg 3, the
    driver the `postgres` extra installs, whatever SQLAlchemy's default driver is."""
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    scheme, rest = value.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgres", "postgresql") else value


def mask_url(value: str) -> str:
    """The URL with its password replaced, for messages; works on text SQLAlchemy cannot parse too."""
    try:
        return make_url(value).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", value)


def open_engine(url: str) -> Engine:
    try:
        dialect = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        raise StoreError(f"not a database URL: {mask_url(url)}; give a file path, sqlite:///PATH or "
                         "postgresql://USER:PASSWORD@HOST:PORT/DB") from None
    if dialect not in SUPPORTED:
        raise StoreError(f"promptlearn stores runs in SQLite or PostgreSQL, not {dialect} ({mask_url(url)}); "
                         "give a file path or a postgresql:// URL")
    engine = _open_sqlite(url) if dialect == "sqlite" else _open_postgres(url)
    event.listen(engine, "before_cursor_execute", _clean_parameters, retval=True)
    if dialect == "postgresql":
        check_reachable(engine)
    return engine


def _open_sqlite(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
                raise PermissionError(path)
        except OSError:
            raise StoreError(f"cannot write the database at {path}; choose another path with --db or "
                             "PROMPTLEARN_DB") from None
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _open_postgres(url: str) -> Engine:
    try:
        import psycopg  # noqa: F401  (only to give a clear error when the extra is missing)
    except ImportError:
        raise StoreError(f"{mask_url(url)} needs the PostgreSQL driver: pip install 'promptlearn[postgres]'") from None
    # pre_ping: a pooled connection the server closed (restart, idle timeout) is replaced, not handed to a write.
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S,
                                                                "application_name": "promptlearn"})


def check_reachable(engine: Engine) -> None:
    """One connection now, so a wrong host, port, password or database name is one clear line up front."""
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        raise StoreError(connect_error(engine, exc)) from None


def connect_error(engine: Engine, exc: OperationalError) -> str:
    url = engine.url
    reason = " ".join(str(exc.orig).split())  # psycopg's message spans lines; a CLI error is one line
    if url.password:
        reason = reason.replace(str(url.password), "***")
    if "does not exist" in reason and "database" in reason:
        hint = f"create it first (createdb {url.database}) or fix the database name in the URL"
    elif "password" in reason or "authentication" in reason:
        hint = "check the user and password in the URL"
    else:
        hint = "check the host and port in the URL and that the PostgreSQL server is running"
    return f"cannot connect to {url.render_as_string(hide_password=True)}: {reason}; {hint}"


def _clean_parameters(conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                      _executemany: bool) -> tuple[str, Any]:
    """No credential from the environment reaches the database, whatever text carries it (a provider's error
    message, an exception in a run summary): every value is scrubbed on its way to the driver. PostgreSQL
    text cannot hold a NUL character, which SQLite stores and a model or dataset can produce: it becomes
    U+FFFD there instead of failing the write."""
    secrets = secret_values()
    nul = conn.dialect.name == "postgresql"
    if not secrets and not nul:
        return statement, parameters

    def clean(text: str) -> str:
        text = redact(text, secrets) if secrets else text
        return text.replace("\x00", "\ufffd") if nul and "\x00" in text else text

    return statement, _scrub(parameters, clean)


def _scrub(value: Any, clean: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v, clean) for v in value)
    if isinstance(value, dict):
        return {k: _scrub(v, clean) for k, v in value.items()}
    return value
