"""A throwaway PostgreSQL server on loopback, for the tests and the store benchmark (nothing in promptlearn's
own code paths imports this module).

    with TempPostgres() as pg:
        url = pg.create_database("t1")      # postgresql://promptlearn:...@127.0.0.1:PORT/t1

It runs `initdb` and `pg_ctl` from PATH, `$PROMPTLEARN_PG_BIN`, or Debian's /usr/lib/postgresql/*/bin. Data and
socket live in a private temp folder; the server listens on 127.0.0.1 only, on a free port, with a password
(so the tests exercise real authentication and password masking)."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from promptlearn.localhost import free_port

INSTALL_HINT = "install them with: apt-get install postgresql (or set PROMPTLEARN_PG_BIN to their folder)"
USER = "promptlearn"
# For tests: nothing is worth an fsync in a database that is deleted at the end of the session.
FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine, or the server would not start."""


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl, newest version first, or None."""
    candidates = [os.environ.get("PROMPTLEARN_PG_BIN", "")]
    on_path = shutil.which("pg_ctl")
    candidates.append(str(Path(on_path).parent) if on_path else "")
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    candidates += [str(p) for p in debian]
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _version(name: str) -> float:
    try:
        return float(name)
    except ValueError:
        return 0.0


class TempPostgres:
    """Start on enter (or `start()`), stop and delete everything on exit (or `stop()`)."""

    def __init__(self, fast: bool = True):
        self.fast = fast
        self.bin = find_bin_dir()
        self.password = secrets.token_hex(12)
        self.port = 0
        self.root: Path | None = None

    # ---- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> TempPostgres:
        if self.bin is None:
            raise PostgresUnavailable(f"PostgreSQL's server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}")
        # Not under pytest's tmp_path: that folder is private to root, and the server runs as `postgres` there.
        self.root = Path(tempfile.mkdtemp(prefix="promptlearn-pg-"))
        (self.root / "pwfile").write_text(self.password + "\n")
        self._own(self.root)
        self._run("initdb", "-D", str(self.data), "-U", USER, "--pwfile", str(self.root / "pwfile"), "-E", "UTF8",
                  "--locale=C", "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync")
        for _attempt in range(3):  # the free port may be taken by someone else before the server binds it
            self.port = free_port()
            options = ["-p", str(self.port), "-k", str(self.root), "-c", "listen_addresses=127.0.0.1",
                       "-c", "max_connections=200", *(FAST if self.fast else ())]
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                          "-o", " ".join(options), "start")
                return self
            except PostgresUnavailable:
                continue
        raise PostgresUnavailable(f"PostgreSQL would not start; see {self.root / 'server.log'}")

    def stop(self) -> None:
        if self.root is None:
            return
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PostgresUnavailable):  # already gone: the folder goes anyway
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(self, _type: type[BaseException] | None, _exc: BaseException | None,
                 _tb: TracebackType | None) -> None:
        self.stop()

    # ---- databases ------------------------------------------------------------------------------------------
    def url(self, database: str = "postgres", password: str | None = None) -> str:
        return f"postgresql://{USER}:{password or self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database names here are letters, digits and _ only: {name!r}")
        # FILE_COPY clones the tiny template folder instead of WAL-logging it block by block: faster per test.
        self._admin(f'CREATE DATABASE "{name}" STRATEGY = FILE_COPY')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # FORCE: a test may leave connections open

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(statement.encode())  # bytes: a composed statement, not a literal-checked query

    # ---- helpers --------------------------------------------------------------------------------------------
    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def _run(self, tool: str, *args: str) -> None:
        assert self.bin is not None
        done = subprocess.run([str(self.bin / tool), *args], capture_output=True, text=True, user=self._user(),
                              cwd=self.root, timeout=120)
        if done.returncode != 0:
            raise PostgresUnavailable(f"{tool} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    @staticmethod
    def _user() -> str | None:
        """PostgreSQL refuses to run as root: then run it as the `postgres` account that Debian's package makes."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam("postgres").pw_name
        except KeyError:
            raise PostgresUnavailable("PostgreSQL refuses to run as root and there is no 'postgres' user to run "
                                      "it as; create one (useradd postgres) or run as another user") from None

    def _own(self, folder: Path) -> None:
        user = self._user()
        if user is not None:
            for path in (folder, *folder.iterdir()):
                shutil.chown(path, user)
