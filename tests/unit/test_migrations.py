"""Each migration, run on a database written by the schema before it: the data stays, the new parts work."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from promptlearn.store import Store
from promptlearn.store.migrate import current_revision, head_revision, upgrade_to_head
from promptlearn.store.store import open_engine
from promptlearn.store.tables import RolloutRow


def _database_at(path: Path, revision: str):  # type: ignore[no-untyped-def]
    engine = open_engine(f"sqlite:///{path}")
    upgrade_to_head(engine, target=revision)
    assert current_revision(engine) == revision
    return engine


def test_0002_adds_confidence_and_quality_records_to_a_0001_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = _database_at(path, "0001")
    with engine.begin() as conn:  # rows as promptlearn 0001 wrote them
        conn.execute(text("INSERT INTO run (id, kind, name, status, config_json, summary_json, created_at, "
                          "updated_at) VALUES ('r1', 'optimize', 'old', 'done', '{}', '{}', '2026-01-01', "
                          "'2026-01-01')"))
        conn.execute(text("INSERT INTO rollout (run_id, version_number, example_id, split, sample, output, score, "
                          "reason, created_at) VALUES ('r1', 0, 'e1', 'val', 0, '(A)', 1.0, 'ok', '2026-01-01')"))
    engine.dispose()

    store = Store(str(path))
    assert current_revision(store.engine) == head_revision()  # opening upgrades to head, through 0002
    assert store.get_run("r1").name == "old"
    [old] = store.rollouts("r1")
    assert (old.output, old.score, old.confidence) == ("(A)", 1.0, None)
    store.add_rollout(RolloutRow(run_id="r1", version_number=1, example_id="e1", split="val", output="(B)",
                                 score=0.0, confidence=0.7))
    assert [r.confidence for r in store.rollouts("r1")] == [None, 0.7]
    store.add_quality("r1", "credit", key="b1", value=0.1, version=1, low=-0.05, high=0.2)
    [credit] = store.quality("r1", kind="credit")
    assert (credit.key, credit.value, credit.version_number) == ("b1", 0.1, 1)


def test_0003_indexes_a_0002_database_and_keeps_its_calls(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    engine = _database_at(path, "0002")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO lm_call (key, model, request_json, reply, prompt_tokens, completion_tokens, "
                          "cost_usd, latency_s, run_id, created_at) VALUES ('k1', 'local/m', '{}', 'hi', 3, 1, 0, "
                          "0.1, 'r1', '2026-01-01')"))
    engine.dispose()

    store = Store(str(path))
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        indexes = {row[1] for row in conn.execute(text("PRAGMA index_list('lm_call')"))}
    assert "ix_lm_call_run_id" in indexes
    cached = store.cached_completion("k1")
    assert cached is not None and cached.text == "hi"


def test_0004_adds_review_decisions_to_a_0003_database(tmp_path: Path) -> None:
    path = tmp_path / "review.db"
    engine = _database_at(path, "0003")
    with engine.begin() as conn:  # a run with a version as promptlearn 0003 wrote it
        conn.execute(text("INSERT INTO run (id, kind, name, status, config_json, summary_json, created_at, "
                          "updated_at) VALUES ('r1', 'optimize', 'old', 'completed', '{}', '{}', '2026-01-01', "
                          "'2026-01-01')"))
        conn.execute(text("INSERT INTO playbook_version (run_id, number, iteration, status, content_json, "
                          "content_hash, scores_json, note, created_at) VALUES ('r1', 1, 1, 'pending', '{}', 'h', "
                          "'{}', '', '2026-01-01')"))
    engine.dispose()

    store = Store(str(path))
    assert current_revision(store.engine) == head_revision()
    assert [v.number for v in store.pending_versions("r1")] == [1]
    store.record_review("r1", 1, "accept", reviewer="ana")
    [decision] = store.review_decisions("r1")
    assert (decision.version_number, decision.decision, decision.reviewer) == (1, "accept", "ana")
    version = store.get_version("r1", 1)
    assert version is not None and version.status == "accepted"


def test_0005_adds_traces_to_a_0004_database(tmp_path: Path) -> None:
    from promptlearn.traces import Feedback, Trace

    path = tmp_path / "traces.db"
    engine = _database_at(path, "0004")
    with engine.begin() as conn:  # a run as promptlearn 0004 wrote it
        conn.execute(text("INSERT INTO run (id, kind, name, status, config_json, summary_json, created_at, "
                          "updated_at) VALUES ('r1', 'optimize', 'old', 'completed', '{}', '{}', '2026-01-01', "
                          "'2026-01-01')"))
    engine.dispose()

    store = Store(str(path))
    assert current_revision(store.engine) == head_revision()
    assert store.get_run("r1").name == "old"
    trace = Trace("span:a1", "ticket", "BUG", Feedback(score=0.0, correction="BILLING"), "f.jsonl:1")
    assert store.add_traces("prod", [trace, trace]) == (1, 1, 0, 0)
    assert store.add_traces("prod", [trace]) == (0, 1, 0, 0)  # the unique (stream, key) holds across imports
    [row] = store.traces("prod")
    assert (row.key, row.score, row.correction) == ("span:a1", 0.0, "BILLING")
