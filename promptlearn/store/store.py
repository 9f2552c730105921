"""The one module that talks SQL. Every write is a short transaction; SQLite runs in WAL mode with a busy
timeout so several processes can share one database."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from sqlalchemy import create_engine, event, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import Session, col, select

from promptlearn.errors import StoreError
from promptlearn.lm.base import Completion, LMRequest, Usage
from promptlearn.safety import redact, secret_values
from promptlearn.store.migrate import upgrade_to_head
from promptlearn.store.quality import QualityRecords
from promptlearn.store.tables import (
    CritiqueRow,
    DeltaRow,
    ExampleRow,
    GateRow,
    LMCallRow,
    RolloutRow,
    RunRow,
    VersionRow,
    utcnow,
)


def default_url() -> str:
    """`$PROMPTLEARN_DB` (a path or any SQLAlchemy URL), else a SQLite file in the user's data directory."""
    value = os.environ.get("PROMPTLEARN_DB") or str(Path(user_data_dir("promptlearn")) / "promptlearn.db")
    return to_url(value)


def to_url(value: str) -> str:
    return value if "://" in value else f"sqlite:///{Path(value).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v, secrets) for v in value)
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    return value


def _redact_secrets(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                    _executemany: bool) -> tuple[str, Any]:
    """No credential from the environment reaches the database, whatever text carries it (a provider's error
    message, an exception in a run summary): every value is scrubbed on its way to the driver."""
    secrets = secret_values()
    return statement, _scrub(parameters, secrets) if secrets else parameters


def open_engine(url: str) -> Engine:
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
    else:
        engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "before_cursor_execute", _redact_secrets, retval=True)
    return engine


def new_run_id() -> str:
    return uuid.uuid4().hex[:10]


class Store(QualityRecords):
    def __init__(self, url: str | None = None):
        self.url = to_url(url) if url else default_url()
        self.engine = open_engine(self.url)
        try:
            upgrade_to_head(self.engine)
        except StoreError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the database {self.safe_url}: {exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0]}") from None

    @property
    def safe_url(self) -> str:
        """The URL without a password, for messages and logs."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except OperationalError as exc:
                session.rollback()
                raise StoreError(f"database error on {self.safe_url}: {str(exc.orig)}") from None
            except Exception:
                session.rollback()
                raise

    # ---- runs -----------------------------------------------------------------------------------------------
    def create_run(self, kind: str, name: str, config: dict[str, Any], run_id: str | None = None,
                   parent_run_id: str | None = None) -> str:
        run_id = run_id or new_run_id()
        with self.session() as s:
            s.add(RunRow(id=run_id, kind=kind, name=name, config_json=json.dumps(config, sort_keys=True),
                         parent_run_id=parent_run_id))
        return run_id

    def get_run(self, run_id: str) -> RunRow:
        """By id, unique id prefix, or `latest` (the newest run)."""
        if run_id == "latest":
            runs = self.list_runs(1)
            if not runs:
                raise StoreError(f"no runs yet in {self.safe_url}")
            return runs[0]
        with self.session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                matches = s.exec(select(RunRow).where(RunRow.id.startswith(run_id))).all()  # type: ignore[attr-defined]
                if len(matches) == 1:
                    return matches[0]
                raise StoreError(f"no run '{run_id}' in {self.safe_url}; see: promptlearn runs list")
            return row

    def list_runs(self, limit: int = 50) -> list[RunRow]:
        with self.session() as s:
            return list(s.exec(select(RunRow).order_by(RunRow.created_at.desc()).limit(limit)))  # type: ignore[attr-defined]

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        with self.session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise StoreError(f"no run '{run_id}'")
            row.status, row.summary_json, row.updated_at = status, json.dumps(summary, sort_keys=True), utcnow()
            s.add(row)

    # ---- examples -------------------------------------------------------------------------------------------
    def save_examples(self, run_id: str, dataset: str, split: str, examples: Iterable[Any]) -> None:
        with self.session() as s:
            have = set(s.exec(select(ExampleRow.example_id).where(ExampleRow.run_id == run_id)))
            for ex in examples:
                if ex.id not in have:
                    s.add(ExampleRow(run_id=run_id, dataset=dataset, split=split, example_id=ex.id, input=ex.input,
                                     target=ex.target, metadata_json=json.dumps(ex.metadata, default=str)))

    def examples(self, run_id: str) -> list[ExampleRow]:
        with self.session() as s:
            return list(s.exec(select(ExampleRow).where(ExampleRow.run_id == run_id).order_by(col(ExampleRow.id))))

    # ---- LM calls (the cache) -------------------------------------------------------------------------------
    def cached_completion(self, key: str) -> Completion | None:
        with self.session() as s:
            row = s.exec(select(LMCallRow).where(LMCallRow.key == key)).first()
        if row is None or row.error:
            return None  # failed calls are recorded but retried on the next run
        return Completion(text=row.reply, usage=Usage(row.prompt_tokens, row.completion_tokens),
                          latency_s=row.latency_s, cost_usd=row.cost_usd, cached=True)

    def record_call(self, request: LMRequest, reply: Completion, run_id: str | None) -> None:
        row = LMCallRow(key=request.key, model=request.model, request_json=json.dumps(request.canonical()),
                        reply=reply.text, prompt_tokens=reply.usage.prompt_tokens,
                        completion_tokens=reply.usage.completion_tokens, cost_usd=reply.cost_usd,
                        latency_s=reply.latency_s, error=reply.error, run_id=run_id)
        try:
            with self.session() as s:
                existing = s.exec(select(LMCallRow).where(LMCallRow.key == request.key)).first()
                if existing is None:
                    s.add(row)
                elif existing.error and not reply.error:
                    for name in ("reply", "prompt_tokens", "completion_tokens", "cost_usd", "latency_s", "error"):
                        setattr(existing, name, getattr(row, name))
                    s.add(existing)
        except IntegrityError:
            pass  # another process recorded the same request first: identical by construction

    def call_stats(self, run_id: str | None = None) -> dict[str, float]:
        with self.session() as s:
            query = select(func.count(), func.sum(LMCallRow.prompt_tokens + LMCallRow.completion_tokens),
                           func.sum(LMCallRow.cost_usd), func.sum(LMCallRow.latency_s))
            if run_id:
                query = query.where(LMCallRow.run_id == run_id)
            count, tokens, cost, latency = s.exec(query).one()
        return {"calls": count or 0, "tokens": tokens or 0, "cost_usd": cost or 0.0, "lm_seconds": latency or 0.0}

    # ---- rollouts -------------------------------------------------------------------------------------------
    def get_rollout(self, run_id: str, version: int, example_id: str, sample: int = 0) -> RolloutRow | None:
        with self.session() as s:
            return s.exec(select(RolloutRow).where(
                RolloutRow.run_id == run_id, RolloutRow.version_number == version,
                RolloutRow.example_id == example_id, RolloutRow.sample == sample)).first()

    def add_rollout(self, row: RolloutRow) -> RolloutRow:
        """Insert, or return the existing rollout with the same identity: a resumed run never writes one twice."""
        try:
            with self.session() as s:
                s.add(row)
            return row
        except IntegrityError:
            existing = self.get_rollout(row.run_id, row.version_number, row.example_id, row.sample)
            assert existing is not None
            return existing

    def rollouts(self, run_id: str, version: int | None = None, split: str | None = None) -> list[RolloutRow]:
        with self.session() as s:
            query = select(RolloutRow).where(RolloutRow.run_id == run_id)
            if version is not None:
                query = query.where(RolloutRow.version_number == version)
            if split is not None:
                query = query.where(RolloutRow.split == split)
            return list(s.exec(query.order_by(col(RolloutRow.id))))

    def count_rollouts(self, run_id: str) -> int:
        with self.session() as s:
            return s.exec(select(func.count()).select_from(RolloutRow).where(RolloutRow.run_id == run_id)).one()

    # ---- critiques ------------------------------------------------------------------------------------------
    def get_critique(self, rollout_id: int, judge: str) -> CritiqueRow | None:
        with self.session() as s:
            return s.exec(select(CritiqueRow).where(CritiqueRow.rollout_id == rollout_id,
                                                    CritiqueRow.judge == judge)).first()

    def add_critique(self, row: CritiqueRow) -> CritiqueRow:
        try:
            with self.session() as s:
                s.add(row)
            return row
        except IntegrityError:
            existing = self.get_critique(row.rollout_id, row.judge)
            assert existing is not None
            return existing

    def critiques(self, run_id: str) -> list[CritiqueRow]:
        with self.session() as s:
            return list(s.exec(select(CritiqueRow).where(CritiqueRow.run_id == run_id).order_by(col(CritiqueRow.id))))

    # ---- playbook versions, deltas, gate decisions ----------------------------------------------------------
    def get_version(self, run_id: str, number: int) -> VersionRow | None:
        with self.session() as s:
            return s.exec(select(VersionRow).where(VersionRow.run_id == run_id, VersionRow.number == number)).first()

    def add_version(self, row: VersionRow, deltas: Sequence[DeltaRow] = ()) -> VersionRow:
        """A version and the deltas that made it, in one transaction; idempotent for a resumed run."""
        existing = self.get_version(row.run_id, row.number)
        if existing is not None:
            return existing
        try:
            with self.session() as s:
                s.add(row)
                for delta in deltas:
                    s.add(delta)
        except IntegrityError:
            existing = self.get_version(row.run_id, row.number)
            assert existing is not None
            return existing
        return row

    def set_version_status(self, run_id: str, number: int, status: str, scores: dict[str, Any] | None = None,
                           note: str | None = None) -> None:
        with self.session() as s:
            row = s.exec(select(VersionRow).where(VersionRow.run_id == run_id, VersionRow.number == number)).one()
            row.status = status
            if scores is not None:
                row.scores_json = json.dumps({**json.loads(row.scores_json), **scores}, sort_keys=True)
            if note is not None:
                row.note = note
            s.add(row)

    def versions(self, run_id: str) -> list[VersionRow]:
        with self.session() as s:
            return list(s.exec(select(VersionRow).where(VersionRow.run_id == run_id).order_by(col(VersionRow.number))))

    def deltas(self, run_id: str, version: int | None = None) -> list[DeltaRow]:
        with self.session() as s:
            query = select(DeltaRow).where(DeltaRow.run_id == run_id)
            if version is not None:
                query = query.where(DeltaRow.version_number == version)
            return list(s.exec(query.order_by(col(DeltaRow.id))))

    def add_gate_decision(self, row: GateRow) -> None:
        with self.session() as s:
            s.add(row)

    def gate_decisions(self, run_id: str) -> list[GateRow]:
        with self.session() as s:
            return list(s.exec(select(GateRow).where(GateRow.run_id == run_id).order_by(col(GateRow.id))))

    # ---- reads for reports ----------------------------------------------------------------------------------
    def call_usage(self, run_id: str) -> list[dict[str, Any]]:
        """The run's LM calls in the order they were made: model, tokens, cost and latency (no prompt text)."""
        columns = (LMCallRow.id, LMCallRow.model, LMCallRow.prompt_tokens, LMCallRow.completion_tokens,
                   LMCallRow.cost_usd, LMCallRow.latency_s, LMCallRow.error)
        with self.session() as s:
            query = select(*columns)  # type: ignore[call-overload]  # sqlmodel types select() up to 4 columns
            rows = s.exec(query.where(LMCallRow.run_id == run_id).order_by(col(LMCallRow.id))).all()
        names = ("id", "model", "prompt_tokens", "completion_tokens", "cost_usd", "latency_s", "error")
        return [dict(zip(names, row, strict=True)) for row in rows]
