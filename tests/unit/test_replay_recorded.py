"""Runs recorded by older code replay through ReplayLM to the same versions and scores (issue #17: refactors change
no behaviour). `tests/data/replay-67cb9b8.db.gz` holds three FakeLM runs recorded at commit 67cb9b8 (after the
first refactors, checked then against runs from before them) by `benchmarks/replay_check.py`'s recipe: a good rule
accepted, a collapsing rule rejected, two candidates a round with worked examples and no judge critiques. A change
that makes the loop ask another question, or decide another version, fails here; one made on purpose re-records
the file and says why in its commit."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from benchmarks.replay_check import replay
from promptlearn.store import Store
from tests.fakes_task import write_dataset

RECORDED = Path(__file__).parent.parent / "data" / "replay-67cb9b8.db.gz"
# Behaviour that changed on purpose since these runs were recorded, set back as the code then behaved:
# learn.explain was on, without a field (off by default since); learn.examples_first did not exist (on since).
CHANGED_DEFAULTS = {"learn.explain": True, "learn.examples_first": False}


def test_runs_recorded_before_the_refactors_replay_to_the_same_versions_and_scores(tmp_path: Path) -> None:
    db = tmp_path / "recorded.db"
    with gzip.open(RECORDED) as packed, db.open("wb") as out:
        shutil.copyfileobj(packed, out)
    source = Store(f"sqlite:///{db}")
    data = write_dataset(tmp_path / "tickets.jsonl")  # the same 60 tickets the runs were recorded on
    runs = {r.name: r.id for r in source.list_runs()}
    assert sorted(runs) == ["collapsing-rule", "examples-no-critiques", "good-rule"]
    statuses = {name: [v.status for v in source.versions(run)] for name, run in runs.items()}
    assert "accepted" in statuses["good-rule"] and "rejected" in statuses["collapsing-rule"]  # both paths recorded
    replies = source.recorded_replies()
    for name, run_id in runs.items():
        assert replay(source, run_id, replies, {**CHANGED_DEFAULTS, "dataset.path": str(data)}) == [], name
