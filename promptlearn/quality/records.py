"""Writing quality records once: a resumed run replays its steps, and must not store the same measurement twice."""

from __future__ import annotations

from typing import Any

from promptlearn.store import Store
from promptlearn.store.quality import detail
from promptlearn.store.tables import QualityRow


def record_once(store: Store, run_id: str, kind: str, key: str, value: float | None, version: int | None,
                **info: Any) -> QualityRow:
    """Add a record unless one with the same kind, key, version and split is stored already (the replayed
    measurement is identical: same stored rollouts, same seeds), and return the stored one."""
    for row in store.quality(run_id, kind, version):
        if row.key == key and row.version_number == version and detail(row).get("split") == info.get("split"):
            return row
    return store.add_quality(run_id, kind, key, value, version, **info)
