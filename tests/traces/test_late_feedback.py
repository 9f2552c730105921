"""Feedback given after a trace was imported: importing the trace again updates its stored feedback while no online
run has learned from it, leaves it as it was once one has, changes nothing when the feedback is the same, and is
scrubbed as on import. On both store backends (db_url)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from promptlearn.cli.main import app
from promptlearn.config import TracesConfig
from promptlearn.store import Store
from promptlearn.traces import import_traces
from promptlearn.traces.online import RECORDED, OnlineLearner
from tests.traces.samples import log_lines, phoenix_span, thumbs
from tests.traces.world import online_config, production_world, ticket, traffic

CFG = TracesConfig()
runner = CliRunner()


def _feedback(store: Store, stream: str = "default") -> dict[str, tuple[object, ...]]:
    return {row.input: (row.score, row.label, row.comment, row.correction) for row in store.traces(stream)}


def test_a_log_line_sent_again_with_feedback_updates_the_trace(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    first = log_lines(tmp_path / "a.jsonl", [{"input": "q1", "output": "BUG"}, {"id": 7, "input": "q2", "output": "X"},
                                             {"input": "q3", "output": "BILLING", "feedback": {"score": 1}}])
    assert import_traces(store, first, CFG).added == 3
    later = log_lines(tmp_path / "b.jsonl", [
        {"input": "q1", "output": "BUG", "feedback": {"label": "thumbs_down", "correction": "ACCOUNT",
                                                      "comment": "write to me at jane.doe@example.com"}},
        {"id": 7, "input": "q2", "output": "X", "feedback": {"score": 0}},  # known by its id
        {"input": "q3", "output": "BILLING"},  # sent again without feedback: the stored feedback stays
    ])
    report = import_traces(store, later, CFG)
    assert (report.added, report.updated, report.duplicates, report.kept) == (0, 2, 1, 0)
    assert store.count_traces("default") == 3
    assert _feedback(store) == {"q1": (None, "thumbs_down", "write to me at [EMAIL]", "ACCOUNT"),
                                "q2": (0.0, None, None, None), "q3": (1.0, None, None, None)}
    assert report.scrubbed["email"] == 1
    again = import_traces(store, later, CFG)  # the same feedback again changes nothing
    assert (again.added, again.updated, again.duplicates) == (0, 0, 3)
    # New feedback replaces the old as a whole: a thumbs up without a correction drops the correction.
    log_lines(later, [{"input": "q1", "output": "BUG", "feedback": {"label": "thumbs_up"}}])
    assert import_traces(store, later, CFG).updated == 1
    assert _feedback(store)["q1"] == (None, "thumbs_up", None, None)


def test_span_annotations_from_a_file_update_the_spans(tmp_path: Path, db_url: str) -> None:
    spans = tmp_path / "spans.jsonl"
    spans.write_text("".join(json.dumps(phoenix_span(f"s{i}", f"ticket {i}", "BUG")) + "\n" for i in range(3)))
    store = Store(db_url)
    assert import_traces(store, spans, CFG).added == 3
    notes = log_lines(tmp_path / "notes.jsonl", [{"span_id": "s1", **thumbs("thumbs_down", "wrong label")}])
    report = import_traces(store, spans, CFG, annotations=notes)
    assert (report.added, report.updated, report.duplicates) == (0, 1, 2)
    assert _feedback(store)["ticket 1"] == (0.0, "thumbs_down", "wrong label", None)


def test_traces_learned_from_keep_their_feedback_the_rest_take_it(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    import_traces(store, traffic(tmp_path / "log.jsonl", 0, 24), CFG)
    learner = OnlineLearner(online_config(), store, production_world())
    assert len(learner.run_once(max_batches=1).batches) == 1  # the first 12 traces learned from
    rows = store.traces("default")
    assert store.learned_through("default") == rows[11].id and store.learned_through("other") == 0
    before = _feedback(store)

    # Every odd ticket is rated up later (the log sent again); the even ones are sent again without feedback.
    resent = traffic(tmp_path / "later.jsonl", 0, 24, rate=lambda i: {"label": "thumbs_up"} if i % 2 else None)
    result = runner.invoke(app, ["traces", "import", str(resent), "--db", db_url])
    assert result.exit_code == 0, result.output
    out = result.output.replace("\n", "")
    assert "added 0 to stream 'default', updated 6, 12 already there" in out
    assert "6 already learned from, feedback kept as it was" in out
    after = _feedback(store)
    for i in range(24):
        expected = (None, "thumbs_up", None, None) if i % 2 and i >= 12 else before[ticket(i)]
        assert after[ticket(i)] == expected, i
    assert after[ticket(15)] != before[ticket(15)] and after[ticket(3)] != (None, "thumbs_up", None, None)

    # The second batch is learned from with the feedback given later: ticket 15 (rated down, then up) passes.
    second = OnlineLearner(online_config(), store, production_world())
    assert second.run_id == learner.run_id and len(second.run_once().batches) == 1
    recorded = {r.example_id: r.score for r in store.rollouts(learner.run_id) if r.version_number == RECORDED}
    key = {row.input: row.key for row in store.traces("default")}
    assert (recorded[key[ticket(15)]], recorded[key[ticket(3)]]) == (1.0, 0.0)
    assert store.learned_through("default") == rows[-1].id
    resent_json = runner.invoke(app, ["traces", "import", str(resent), "--db", db_url, "--json"])
    counts = json.loads(resent_json.stdout)[0]
    assert (counts["updated"], counts["kept_learned"], counts["duplicates"]) == (0, 6, 18)  # all learned from now
