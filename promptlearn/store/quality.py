"""Store methods for learning-quality records (ablation credit, out-of-domain scores, calibration, difficulty,
audits, flags). A mixin of `Store`, kept apart so the core store stays small; it talks SQL like the store does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from sqlmodel import Session, col, select

from promptlearn.store.queries import where_given
from promptlearn.store.tables import QualityRow


class QualityRecords:
    def session(self) -> AbstractContextManager[Session]:  # provided by Store
        raise NotImplementedError

    def add_quality(self, run_id: str, kind: str, key: str = "", value: float | None = None,
                    version: int | None = None, **detail: Any) -> QualityRow:
        row = QualityRow(run_id=run_id, version_number=version, kind=kind, key=key, value=value,
                         detail_json=json.dumps(detail, sort_keys=True, default=str))
        with self.session() as s:
            s.add(row)
        return row

    def quality(self, run_id: str, kind: str | None = None, version: int | None = None) -> list[QualityRow]:
        with self.session() as s:
            query = where_given(select(QualityRow).where(QualityRow.run_id == run_id), (QualityRow.kind, kind),
                                (QualityRow.version_number, version))
            return list(s.exec(query.order_by(col(QualityRow.id))))


def detail(row: QualityRow) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(row.detail_json or "{}")
    return value


def iter_details(rows: list[QualityRow]) -> Iterator[tuple[QualityRow, dict[str, Any]]]:
    for row in rows:
        yield row, detail(row)
