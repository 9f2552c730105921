"""Store methods for imported production traces: add them once per (stream, key), read them in import order.
A mixin of `Store`; like the store, it is the only place these rows meet SQL."""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy import func
from sqlmodel import Session, col, select

from promptlearn.store.tables import TraceRow


class FeedbackLike(Protocol):
    @property
    def score(self) -> float | None: ...
    @property
    def label(self) -> str | None: ...
    @property
    def comment(self) -> str | None: ...
    @property
    def correction(self) -> str | None: ...


class TraceLike(Protocol):
    """What is stored of a trace (promptlearn.traces.Trace)."""

    @property
    def key(self) -> str: ...
    @property
    def input(self) -> str: ...
    @property
    def output(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def feedback(self) -> FeedbackLike: ...
    @property
    def metadata(self) -> dict[str, Any]: ...


class TraceRecords:
    def session(self) -> AbstractContextManager[Session]:  # provided by Store
        raise NotImplementedError

    def add_traces(self, stream: str, traces: Iterable[TraceLike]) -> tuple[int, int]:
        """Store the traces not stored yet under `stream` (by key); returns (added, already there)."""
        with self.session() as s:
            have = set(s.exec(select(TraceRow.key).where(TraceRow.stream == stream)))
            added = duplicates = 0
            for t in traces:
                if t.key in have:
                    duplicates += 1
                    continue
                have.add(t.key)
                f = t.feedback
                s.add(TraceRow(stream=stream, key=t.key, source=t.source, input=t.input, output=t.output,
                               score=f.score, label=f.label, comment=f.comment, correction=f.correction,
                               metadata_json=json.dumps(t.metadata, sort_keys=True, default=str)))
                added += 1
        return added, duplicates

    def traces(self, stream: str, after: int = 0, limit: int | None = None) -> list[TraceRow]:
        """The stream's traces with a row id above `after`, in import order."""
        with self.session() as s:
            query = select(TraceRow).where(TraceRow.stream == stream, col(TraceRow.id) > after)
            query = query.order_by(col(TraceRow.id))
            if limit is not None:
                query = query.limit(limit)
            return list(s.exec(query))

    def count_traces(self, stream: str) -> int:
        with self.session() as s:
            return s.exec(select(func.count()).select_from(TraceRow).where(TraceRow.stream == stream)).one()

    def trace_streams(self) -> dict[str, int]:
        """Each stream's name and how many traces it holds."""
        with self.session() as s:
            rows = s.exec(select(TraceRow.stream, func.count()).group_by(TraceRow.stream)).all()  # type: ignore[call-overload]
        return {stream: count for stream, count in rows}
