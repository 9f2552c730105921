"""Several OS processes write through the Store API into one database at once, racing on every unique key
(LM-call cache keys, rollout identities, critiques, versions). Nothing may be lost or stored twice, on SQLite
and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from promptlearn.store import Store
from tests.reliability import checks
from tests.reliability.store_worker import (
    SHARED,
    bulk_request,
    own_request,
    prepare_shared_run,
    shared_request,
)

pytestmark = pytest.mark.reliability

REPO = Path(__file__).resolve().parents[2]
WORKERS = 4
CALLS = 40


def start_together(db: str, folder: Path) -> list[tuple[subprocess.Popen[str], Path]]:
    procs = []
    for index in range(WORKERS):
        log = folder / f"worker{index}.log"
        proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.store_worker", db, str(index),
                                 "--calls", str(CALLS)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=log.open("w"), text=True)
        procs.append((proc, log))
    for proc, log in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY", log.read_text()
    for proc, _log in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return procs


def test_processes_racing_on_the_same_keys_lose_and_duplicate_nothing(db_url: str, tmp_path: Path) -> None:
    store = Store(db_url)
    prepare_shared_run(store, CALLS)
    for proc, log in start_together(db_url, tmp_path):
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "DONE" in out, log.read_text()
        assert "Traceback" not in log.read_text()

    assert checks.violations(db_url) == []  # no duplicated key of any kind, no orphan
    expected = {shared_request(i).key for i in range(CALLS)} | {bulk_request(i).key for i in range(2 * CALLS)}
    expected |= {own_request(w, i).key for w in range(WORKERS) for i in range(CALLS)}
    assert checks.lm_call_keys(db_url) == expected
    assert store.call_stats()["calls"] == len(expected)
    for i in range(CALLS):  # a success replaced every failure, whichever process wrote first
        cached = store.cached_completion(shared_request(i).key)
        assert cached is not None and cached.text == f"answer {i}"
    assert sorted(r.example_id for r in store.rollouts(SHARED)) == sorted(f"e{i}" for i in range(CALLS))
    assert len(store.critiques(SHARED)) == CALLS
    assert [v.number for v in store.versions(SHARED)] == [0, 1]
    for w in range(WORKERS):
        assert store.count_rollouts(f"worker{w}") == CALLS
