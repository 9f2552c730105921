"""Store methods for imported production traces: add them once per (stream, key), update the feedback of those not
yet learned from, read them in import order. A mixin of `Store`; like the store, it is the only place these rows
meet SQL.

An online run (traces/online.py) consumes a stream's traces in import order, a batch at a time, and records each
finished batch as a `BATCH_RECORD` quality row whose detail holds `last_trace`, the highest trace id it took: a
trace whose id is at most the highest `last_trace` of any online run on its stream has been learned from."""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, NamedTuple, Protocol

from sqlalchemy import func
from sqlmodel import Session, col, select

from promptlearn.store.tables import QualityRow, RunRow, TraceRow

BATCH_RECORD = "online_batch"  # the quality kind of an online run's finished batch (detail: last_trace, ...)


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


class Stored(NamedTuple):
    """What `add_traces` did with each trace it was given (the four add up to their number)."""

    added: int
    duplicates: int  # stored already, with this feedback (or given none): nothing changed
    updated: int  # stored already, not learned from yet: its feedback replaced by the new one
    kept: int  # stored already and learned from: new feedback not taken, the row kept as it was


Feedback4 = tuple[float | None, str | None, str | None, str | None]


def _feedback(f: FeedbackLike) -> Feedback4:
    return f.score, f.label, f.comment, f.correction


def _stream_of(config_json: str) -> Any:
    config = json.loads(config_json or "{}")
    traces = config.get("traces") if isinstance(config, dict) else None
    return traces.get("stream") if isinstance(traces, dict) else None


class TraceRecords:
    def session(self) -> AbstractContextManager[Session]:  # provided by Store
        raise NotImplementedError

    def add_traces(self, stream: str, traces: Iterable[TraceLike]) -> Stored:
        """Store the traces not stored yet under `stream` (by key). A trace stored already takes the new feedback
        (score, label, comment, correction: all four, replaced together) when the feedback says something and
        differs, unless the trace has been learned from (`learned_through`); a later trace of the same key wins."""
        with self.session() as s:
            learned = _learned_through(s, stream)
            query = select(TraceRow.key, TraceRow.id, TraceRow.score, TraceRow.label,  # type: ignore[call-overload, misc]
                           TraceRow.comment, TraceRow.correction).where(TraceRow.stream == stream)
            have: dict[str, tuple[int | TraceRow, Feedback4]] = {
                key: (row_id, (score, label, comment, correction))
                for key, row_id, score, label, comment, correction in s.exec(query).all()}
            added = duplicates = updated = kept = 0
            for t in traces:
                f = t.feedback
                new = _feedback(f)
                if t.key not in have:
                    row = TraceRow(stream=stream, key=t.key, source=t.source, input=t.input, output=t.output,
                                   score=f.score, label=f.label, comment=f.comment, correction=f.correction,
                                   metadata_json=json.dumps(t.metadata, sort_keys=True, default=str))
                    s.add(row)
                    have[t.key] = (row, new)
                    added += 1
                    continue
                ref, old = have[t.key]
                if new == old or new == (None, None, None, None):
                    duplicates += 1
                    continue
                if isinstance(ref, int) and ref <= learned:
                    kept += 1
                    continue
                stored = ref if isinstance(ref, TraceRow) else s.get(TraceRow, ref)
                assert stored is not None
                stored.score, stored.label, stored.comment, stored.correction = new
                s.add(stored)
                have[t.key] = (ref, new)
                updated += 1
        return Stored(added, duplicates, updated, kept)

    def learned_through(self, stream: str) -> int:
        """The highest trace id any online run on `stream` has consumed (0: none): traces up to it are learned from."""
        with self.session() as s:
            return _learned_through(s, stream)

    def traces(self, stream: str, after: int = 0, limit: int | None = None,
               through: int | None = None) -> list[TraceRow]:
        """The stream's traces with a row id above `after` (and at most `through`), in import order."""
        with self.session() as s:
            query = select(TraceRow).where(TraceRow.stream == stream, col(TraceRow.id) > after)
            if through is not None:
                query = query.where(col(TraceRow.id) <= through)
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


def _learned_through(s: Session, stream: str) -> int:
    runs = s.exec(select(RunRow.id, RunRow.config_json).where(RunRow.kind == "online")).all()  # type: ignore[call-overload]
    ids = [run_id for run_id, config_json in runs if _stream_of(config_json) == stream]
    if not ids:
        return 0
    details = s.exec(select(QualityRow.detail_json).where(QualityRow.kind == BATCH_RECORD,
                                                          col(QualityRow.run_id).in_(ids)))
    return max((int(json.loads(d or "{}").get("last_trace") or 0) for d in details), default=0)
