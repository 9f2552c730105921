from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from promptlearn.errors import StoreError
from promptlearn.lm import Completion, FakeLM, LMRequest, RecordingLM, Usage
from promptlearn.store import Store
from promptlearn.store.migrate import current_revision, head_revision
from promptlearn.store.tables import RolloutRow, VersionRow


def test_fresh_database_is_migrated_to_head(db_url: str) -> None:
    store = Store(db_url)
    assert current_revision(store.engine) == head_revision() >= "0004"
    if store.engine.dialect.name == "sqlite":
        with sqlite3.connect(db_url) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrations_match_the_tables(db_url: str) -> None:
    store = Store(db_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_a_database_from_a_newer_version_is_refused(db_url: str) -> None:
    with Store(db_url).engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    with pytest.raises(StoreError, match="newer promptlearn"):
        Store(db_url)


def test_not_a_database_gives_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a promptlearn database"):
        Store(str(path))


def test_unwritable_path_gives_one_clear_error(tmp_path: Path) -> None:
    a_file = tmp_path / "plain-file"
    a_file.write_text("x")  # a folder cannot be made below a file, whoever runs the test (root too)
    with pytest.raises(StoreError, match="cannot write the database"):
        Store(str(a_file / "sub" / "x.db"))


def test_identical_requests_are_answered_from_the_store(db_url: str) -> None:
    store = Store(db_url)
    fake = FakeLM(lambda req: "four")
    lm = RecordingLM(fake, store)
    request = LMRequest.chat("local/x", [{"role": "user", "content": "2+2?"}])
    first, second = lm.complete(request), lm.complete(request)
    assert (first.text, second.text) == ("four", "four")
    assert (first.cached, second.cached) == (False, True)
    assert len(fake.calls) == 1
    other_seed = LMRequest.chat("local/x", [{"role": "user", "content": "2+2?"}], seed=1)
    lm.complete(other_seed)
    assert len(fake.calls) == 2
    assert store.call_stats()["calls"] == 2


def test_failed_calls_are_recorded_but_not_replayed(db_url: str) -> None:
    store = Store(db_url)
    request = LMRequest.chat("local/x", [{"role": "user", "content": "hi"}])
    store.record_call(request, Completion(text="", error="boom"), None)
    assert store.cached_completion(request.key) is None
    store.record_call(request, Completion(text="ok", usage=Usage(3, 1)), None)
    cached = store.cached_completion(request.key)
    assert cached is not None and cached.text == "ok" and cached.usage.total == 4


def test_a_rollout_is_never_written_twice(db_url: str) -> None:
    store = Store(db_url)
    run = store.create_run("optimize", "r", {})
    first = store.add_rollout(RolloutRow(run_id=run, version_number=0, example_id="e1", split="val", output="a"))
    again = store.add_rollout(RolloutRow(run_id=run, version_number=0, example_id="e1", split="val", output="b"))
    assert again.id == first.id and again.output == "a"
    assert store.count_rollouts(run) == 1


def test_versions_are_idempotent_and_ordered(db_url: str) -> None:
    store = Store(db_url)
    run = store.create_run("optimize", "v", {})
    for number in (0, 1, 1):
        store.add_version(VersionRow(run_id=run, number=number, status="seed", content_json="{}", content_hash="h"))
    store.set_version_status(run, 1, "accepted", {"val": 0.5})
    assert [(v.number, v.status) for v in store.versions(run)] == [(0, "seed"), (1, "accepted")]


def test_run_lookup_by_prefix_and_unknown_run(db_url: str) -> None:
    store = Store(db_url)
    run = store.create_run("eval", "x", {}, run_id="abcdef1234")
    assert store.get_run("abcd").id == run
    with pytest.raises(StoreError, match="no run 'zzz'"):
        store.get_run("zzz")


def test_latest_names_the_newest_run(db_url: str) -> None:
    store = Store(db_url)
    with pytest.raises(StoreError, match="no runs yet"):
        store.get_run("latest")
    store.create_run("eval", "first", {}, run_id="aaa")
    store.create_run("eval", "second", {}, run_id="bbb")
    assert store.get_run("latest").name == "second"
