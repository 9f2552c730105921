"""Store invariants after crashes and concurrent writers, read with plain SQL so the check trusts nothing in
`Store`. Each function returns the violations it found (an empty list means the store is sound)."""

from __future__ import annotations

import sqlite3
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
        "SELECT r.run_id, r.version_number FROM rollout r WHERE NOT EXISTS (SELECT 1 FROM playbook_version v "
        "WHERE v.run_id = r.run_id AND v.number = r.version_number)",
    "rollout of an example the run does not have":
        "SELECT r.run_id, r.example_id FROM rollout r WHERE NOT EXISTS (SELECT 1 FROM example e "
        "WHERE e.run_id = r.run_id AND e.example_id = r.example_id)",
    "critique of another run's rollout":
        "SELECT c.id FROM critique c JOIN rollout r ON r.id = c.rollout_id WHERE r.run_id != c.run_id",
    "rollout whose cached call is missing":
        "SELECT r.id FROM rollout r WHERE r.lm_call_key IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM lm_call c WHERE c.key = r.lm_call_key)",
}


def connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)


def violations(db: Path) -> list[str]:
    found = []
    with connect(db) as conn:
        for what, query in {**DUPLICATES, **ORPHANS}.items():
            rows = conn.execute(query).fetchall()
            if rows:
                found.append(f"{what}: {rows[:3]}")
    return found


def fingerprint(db: Path, run_id: str) -> dict[str, Any]:
    """What an uninterrupted run and a crashed-and-resumed one must agree on (ids and timestamps aside)."""
    with connect(db) as conn:
        def rows(query: str) -> list[tuple[Any, ...]]:
            return sorted(conn.execute(query, (run_id,)).fetchall())

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


def run_ids(db: Path) -> list[str]:
    with connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM run ORDER BY created_at")]


def lm_call_keys(db: Path) -> set[str]:
    with connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT key FROM lm_call")}
