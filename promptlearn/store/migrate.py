"""Bring a database to the newest schema with Alembic (named, append-only migrations in migrations/versions)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError, OperationalError

from promptlearn.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x70726F6D7074  # "prompt": any constant, the same in every promptlearn process


def alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _revision(conn)


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_to_head(engine: Engine, target: str = "head") -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    try:
        current = current_revision(engine)
    except DatabaseError as exc:
        raise StoreError(f"{engine.url.render_as_string(hide_password=True)} is not a promptlearn database "
                         f"({' '.join(str(exc.orig).split())}); point --db at another database") from None
    script = ScriptDirectory.from_config(alembic_config())
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise StoreError(f"the database was written by a newer promptlearn (schema {current}); upgrade promptlearn")
    if current == script.get_current_head() and target == "head":
        return
    cfg = alembic_config()
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    # Python's sqlite3 commits each CREATE TABLE on its own. One write transaction for the whole
                    # migration makes a second process wait (busy timeout) instead of finding half a schema.
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                elif conn.dialect.name == "postgresql":
                    # The same on a server: concurrent CREATE TABLEs of one fresh database fail on the catalog's
                    # unique keys, so migrators queue on a lock held until this transaction commits.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                if target == "head" and _revision(conn) == script.get_current_head():
                    return  # another process migrated while this one waited
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, target)
            return
        except OperationalError:
            # Another process migrated the same fresh database at the same moment; its result is ours.
            if attempt == 1 or current_revision(engine) != script.get_current_head():
                raise
