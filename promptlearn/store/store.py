"""The one module that talks SQL. Every write is a short transaction, so several processes can share one
database: a SQLite file (WAL mode, busy timeout) or a PostgreSQL server (see engine.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, col, select

from promptlearn.errors import StoreError
from promptlearn.lm.base import Completion, LMRequest, Usage
from promptlearn.store.engine import default_url, open_engine, to_url
from promptlearn.store.migrate import upgrade_to_head
from promptlearn.store.quality import QualityRecords
from promptlearn.store.queries import insert_or_stored, where_given
from promptlearn.store.review import ReviewRecords
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
from promptlearn.store.traces import TraceRecords
from promptlearn.store.versions import VersionRecords

REPLACEABLE = ("reply", "prompt_tokens", "completion_tokens", "cost_usd", "latency_s", "error")


def new_run_id() -> str:
    return uuid.uuid4().hex[:10]


def _call_row(request: LMRequest, reply: Completion, run_id: str | None) -> dict[str, Any]:
    return {"key": request.key, "model": request.model, "request_json": json.dumps(request.canonical()),
            "reply": reply.text, "prompt_tokens": reply.usage.prompt_tokens,
            "completion_tokens": reply.usage.completion_tokens, "cost_usd": reply.cost_usd,
            "latency_s": reply.latency_s, "error": reply.error, "run_id": run_id, "created_at": utcnow()}


class Store(QualityRecords, ReviewRecords, TraceRecords, VersionRecords):
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
                reason = " ".join(str(exc.orig).split())  # a server's message spans lines; an error is one line
                raise StoreError(f"database error on {self.safe_url}: {reason}") from None
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

    def recorded_replies(self) -> dict[str, str]:
        """Every successful call's reply by request key: what a `ReplayLM` needs to replay the store's runs."""
        with self.session() as s:
            rows = s.exec(select(LMCallRow.key, LMCallRow.reply).where(col(LMCallRow.error).is_(None))).all()
        return {key: reply for key, reply in rows}

    def record_call(self, request: LMRequest, reply: Completion, run_id: str | None) -> None:
        self.record_calls([(request, reply)], run_id)

    def record_calls(self, calls: Iterable[tuple[LMRequest, Completion]], run_id: str | None,
                     batch: int = 2000) -> int:
        """Record many calls, `batch` rows per transaction; returns how many were given. Like `record_call`, a
        key already stored stays as it is (another process made the same request: identical by construction),
        unless it holds a failure and this call succeeded."""
        count = 0
        pending: dict[str, dict[str, Any]] = {}
        for request, reply in calls:
            row = _call_row(request, reply, run_id)
            kept = pending.get(row["key"])
            if kept is None or kept["error"] and not row["error"]:
                pending[row["key"]] = row  # one row per key: a statement must not touch the same row twice
            count += 1
            if len(pending) >= batch:
                self._upsert_calls(list(pending.values()))
                pending = {}
        if pending:
            self._upsert_calls(list(pending.values()))
        return count

    def _upsert_calls(self, rows: list[dict[str, Any]]) -> None:
        """One race-free statement on either database: INSERT .. ON CONFLICT (key) DO UPDATE .. WHERE the stored
        row is a failure and the new one is not; two processes inserting the same key never raise."""
        table = LMCallRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it at class creation
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.key], set_={name: statement.excluded[name] for name in REPLACEABLE},
            where=table.c.error.is_not(None) & statement.excluded.error.is_(None))
        with self.session() as s:
            s.connection().execute(statement, rows)

    def calls_of_run(self, run_id: str) -> list[LMCallRow]:
        """The model calls a run made itself (a cache hit is recorded under the run that first made the call)."""
        with self.session() as s:
            return list(s.exec(select(LMCallRow).where(LMCallRow.run_id == run_id).order_by(col(LMCallRow.id))))

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
        return insert_or_stored(self.session, row,
                                lambda: self.get_rollout(row.run_id, row.version_number, row.example_id, row.sample))

    def rollouts(self, run_id: str, version: int | None = None, split: str | None = None) -> list[RolloutRow]:
        with self.session() as s:
            query = where_given(select(RolloutRow).where(RolloutRow.run_id == run_id),
                                (RolloutRow.version_number, version), (RolloutRow.split, split))
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
        return insert_or_stored(self.session, row, lambda: self.get_critique(row.rollout_id, row.judge))

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
        return insert_or_stored(self.session, row, lambda: self.get_version(row.run_id, row.number), deltas)

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
            query = where_given(select(DeltaRow).where(DeltaRow.run_id == run_id), (DeltaRow.version_number, version))
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
