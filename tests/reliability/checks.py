"""Store invariants after crashes and concurrent writers, read with plain SQL so the check trusts nothing in
`Store`. Each function returns the violations it found (an empty list means the store is sound). `db` is a
SQLite file or a postgresql:// URL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DUPLICATES = {
    "duplicated rollout": "SELECT run_id, version_number, example_id, sample, COUNT(*) FROM rollout "
                          "GROUP BY run_id, version_number, example_id, sample HAVING COUNT(*) > 1",
    "duplicated lm_call key": "SELECT key, COUNT(*) FROM lm_call GROUP BY key HAVING COUNT(*) > 1",
    "duplicated version": "SELECT run_id, number, COUNT(*) FROM playbook_version GROUP BY run_id, number "
                          "HAVING COUNT(*) > 1",
    "duplicated critique": "SELECT rollout_id, judge, COUNT(*) FROM critique GROUP BY rollout_id, judge "
                           "HAVING COUNT(*) > 1",
    "duplicated gate decision": "SELECT run_id, version_number, COUNT(*) FROM gate_decision "
                                "GROUP BY run_id, version_number HAVING COUNT(*) > 1",
}

ORPHANS = {
    "broken version chain (parent missing)":
        "SELECT v.run_id, v.number, v.parent_number FROM playbook_version v WHERE v.parent_number IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM playbook_version p WHERE p.run_id = v.run_id AND p.number = v.parent_number)",
    "rollout of a version the run does not have":
        "SELECT r.run_id, r.version_number FROM rollout r WHERE r.split != 'ablation' AND NOT EXISTS (SELECT 1 "
        "FROM playbook_version v WHERE v.run_id = r.run_id AND v.number = r.version_number)",
    # An ablation rollout's version is -(N * 100000 + unit + 1): a bullet removed from version N, which must exist.
    "ablation of a version the run does not have":
        "SELECT r.run_id, r.version_number FROM rollout r WHERE r.split = 'ablation' AND NOT EXISTS (SELECT 1 "
        "FROM playbook_version v WHERE v.run_id = r.run_id AND v.number = (-r.version_number - 1) / 100000)",
    "rollout of an example the run does not have":
        # Out-of-domain check examples (split 'ood', ids 'ood:...') come from another dataset, not the run's.
        "SELECT r.run_id, r.example_id FROM rollout r WHERE r.split != 'ood' AND NOT EXISTS (SELECT 1 FROM "
        "example e WHERE e.run_id = r.run_id AND e.example_id = r.example_id)",
    "critique of another run's rollout":
        "SELECT c.id FROM critique c JOIN rollout r ON r.id = c.rollout_id WHERE r.run_id != c.run_id",
    "rollout whose cached call is missing":
        "SELECT r.id FROM rollout r WHERE r.lm_call_key IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM lm_call c WHERE c.key = r.lm_call_key)",
}


@contextmanager
def connect(db: Path | str) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    """A query function over a SQLite file (read-only) or a postgresql:// URL; queries use `?` placeholders."""
    if isinstance(db, str) and db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as pg:
            yield lambda query, args=(): [tuple(row) for row in pg.execute(query.replace("?", "%s"), args)]
        return
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60) as conn:
        yield lambda query, args=(): conn.execute(query, args).fetchall()


def violations(db: Path | str) -> list[str]:
    found = []
    with connect(db) as select:
        for what, query in {**DUPLICATES, **ORPHANS}.items():
            rows = select(query)
            if rows:
                found.append(f"{what}: {rows[:3]}")
    return found


def fingerprint(db: Path | str, run_id: str) -> dict[str, Any]:
    """What an uninterrupted run and a crashed-and-resumed one must agree on (ids and timestamps aside)."""
    with connect(db) as select:
        def rows(query: str) -> list[tuple[Any, ...]]:
            return sorted(select(query, (run_id,)))

        return {
            "status": rows("SELECT status FROM run WHERE id = ?"),
            "examples": rows("SELECT example_id, split FROM example WHERE run_id = ?"),
            "versions": rows("SELECT number, parent_number, status, content_hash FROM playbook_version "
                             "WHERE run_id = ?"),
            "rollouts": rows("SELECT version_number, example_id, split, sample, score, lm_call_key FROM rollout "
                             "WHERE run_id = ?"),
            "deltas": rows("SELECT version_number, op, text, applied FROM delta WHERE run_id = ?"),
            "critiques": rows("SELECT r.version_number, r.example_id, c.verdict, c.code_verdict FROM critique c "
                              "JOIN rollout r ON r.id = c.rollout_id WHERE c.run_id = ?"),
            "gates": rows("SELECT version_number, baseline_number, accepted FROM gate_decision WHERE run_id = ?"),
        }


def run_ids(db: Path | str) -> list[str]:
    with connect(db) as select:
        return [row[0] for row in select("SELECT id FROM run ORDER BY created_at")]


def lm_call_keys(db: Path | str) -> set[str]:
    with connect(db) as select:
        return {row[0] for row in select("SELECT key FROM lm_call")}
