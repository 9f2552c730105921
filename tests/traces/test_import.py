"""Importing traces: the three formats, feedback and corrections, bad input reported by file and line, and
importing twice adds nothing. On both store backends (db_url)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from promptlearn.cli.main import app
from promptlearn.config import TracesConfig
from promptlearn.store import Store
from promptlearn.traces import import_traces
from promptlearn.traces.formats import annotation_feedback
from tests.traces.samples import SYSTEM, log_lines, otlp_export, phoenix_span, thumbs

CFG = TracesConfig()
runner = CliRunner()


def test_jsonl_log_becomes_examples_with_feedback_and_corrections(tmp_path: Path, db_url: str) -> None:
    path = log_lines(tmp_path / "log.jsonl", [
        {"input": "ticket 1 about billing", "output": "BILLING", "feedback": {"score": 1}},
        {"input": "ticket 2 about bug", "output": "It is a bug.", "feedback": {"label": "thumbs_down",
                                                                              "comment": "only the label please"}},
        {"input": "ticket 3 about account", "output": "BUG", "feedback": {"correction": "ACCOUNT"}},
        {"input": "ticket 4 about shipping", "output": "SHIPPING"},
    ])
    store = Store(db_url)
    report = import_traces(store, path, CFG)
    assert (report.added, report.duplicates, report.malformed) == (4, 0, [])
    assert (report.with_feedback, report.corrections) == (3, 1)
    rows = store.traces("default")
    assert [r.input for r in rows] == [f"ticket {i} about {w}" for i, w in
                                       enumerate(["billing", "bug", "account", "shipping"], 1)]
    assert (rows[0].score, rows[1].label, rows[1].comment, rows[2].correction) == (1.0, "thumbs_down",
                                                                                   "only the label please", "ACCOUNT")
    assert rows[3].score is None and rows[3].correction is None
    assert rows[0].source.endswith("log.jsonl:1") and rows[0].key.startswith("sha256:")


def test_importing_twice_adds_nothing(tmp_path: Path, db_url: str) -> None:
    path = log_lines(tmp_path / "log.jsonl", [{"input": f"q{i}", "output": "a"} for i in range(3)]
                     + [{"id": "fixed", "input": "q", "output": "a"}])
    store = Store(db_url)
    first = import_traces(store, path, CFG)
    again = import_traces(store, path, CFG)
    assert (first.added, first.duplicates) == (4, 0)
    assert (again.added, again.duplicates) == (0, 4)
    assert store.count_traces("default") == 4
    # a line with its own id is known by it: the same id with other text is the same trace
    log_lines(path, [{"id": "fixed", "input": "changed", "output": "b"}])
    assert import_traces(store, path, CFG).added == 0
    # another stream is another set
    assert import_traces(store, path, CFG, stream="other").added == 1


def test_malformed_lines_are_reported_with_file_line_and_field_and_the_rest_imported(tmp_path: Path,
                                                                                     db_url: str) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join([
        json.dumps({"input": "ok 1", "output": "A"}),
        "{not json",
        json.dumps({"output": "no input"}),
        json.dumps({"input": "ok 2", "output": "B", "feedback": {"score": "great"}}),
        json.dumps({"input": "x", "output": "B", "feedback": {"corection": "C"}}),
        json.dumps({"input": "x", "output": 3}),
        "",
        json.dumps({"input": "ok 3", "output": "C", "feedback": {"label": "up"}}),
    ]) + "\n")
    report = import_traces(Store(db_url), path, CFG)
    assert report.added == 2
    assert [(m.line, m.why.split(":")[0] if "field" in m.why else m.why[:8]) for m in report.malformed] == [
        (2, "not JSON"), (3, "field 'input' is missing"), (4, "field 'feedback.score'"),
        (5, "field 'feedback.corection'"), (6, "field 'output'")]
    assert all(m.file == str(path) for m in report.malformed)
    assert str(report.malformed[0]).startswith(f"{path}:2: not JSON")


def test_openinference_spans_read_messages_kind_and_annotations(tmp_path: Path, db_url: str) -> None:
    spans = [phoenix_span("aaa1", "ticket 1 about billing", "BILLING", [thumbs("thumbs_up")]),
             phoenix_span("aaa2", "ticket 2 about bug", "Sounds like a bug.",
                          [thumbs("thumbs_down", "answer with the label only"),
                           {"name": "correction", "annotator_kind": "HUMAN", "result": {"explanation": "BUG"}}]),
             phoenix_span("aaa3", "ticket 3 about account", "ACCOUNT", [thumbs("thumbs_down", kind="LLM")]),
             phoenix_span("ccc1", "wrapper", "wrapped", kind="CHAIN"),
             {"context": {"trace_id": "t"}, "span_kind": "LLM", "attributes": {"openinference.span.kind": "LLM"}}]
    path = tmp_path / "spans.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in spans))
    store = Store(db_url)
    report = import_traces(store, path, CFG)
    assert report.added == 3 and dict(report.skipped) == {"CHAIN": 1}
    assert [(m.line, m.why) for m in report.malformed] == [(5, "field 'context.span_id' (OTLP: 'spanId') is missing")]
    one, two, three = store.traces("default")
    assert (one.key, one.input, one.output, one.score, one.label) == ("span:aaa1", "ticket 1 about billing",
                                                                      "BILLING", 1.0, "thumbs_up")
    assert (two.correction, two.comment, two.score) == ("BUG", "answer with the label only", 0.0)
    assert three.score is None  # an LLM eval is not a user's feedback
    assert json.loads(one.metadata_json)["system_prompt"] == SYSTEM
    assert import_traces(store, path, CFG).added == 0


def test_nested_attributes_a_json_list_and_an_annotation_file(tmp_path: Path, db_url: str) -> None:
    nested = {"context": {"span_id": "n1"}, "span_kind": "LLM",
              "attributes": {"openinference": {"span": {"kind": "LLM"}},
                             "input": {"value": "ticket 5 about bug"}, "output": {"value": "BUG"}}}
    path = tmp_path / "spans.json"
    path.write_text(json.dumps([nested, phoenix_span("n2", "ticket 6 about billing", "BUG")], indent=1))
    notes = tmp_path / "annotations.jsonl"
    notes.write_text(json.dumps({"span_id": "n2", "name": "correction", "annotator_kind": "HUMAN",
                                 "result": {"label": "BILLING"}}) + "\n" + json.dumps({"name": "x"}) + "\n")
    store = Store(db_url)
    report = import_traces(store, path, CFG, annotations=notes)
    assert report.added == 2
    assert [str(m) for m in report.malformed] == [f"{notes}:2: field 'span_id' is missing (an annotation names its "
                                                  "span)"]
    first, second = store.traces("default")
    assert (first.input, first.output) == ("ticket 5 about bug", "BUG")
    assert second.correction == "BILLING"


def test_otlp_json_export_one_document_or_one_per_line(tmp_path: Path, db_url: str) -> None:
    doc = otlp_export([("00f067aa0ba902b7", "ticket 7 about shipping", "SHIPPING"),
                       ("00f067aa0ba902b8", "ticket 8 about bug", "BUG")])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc, indent=2))
    store = Store(db_url)
    assert import_traces(store, path, CFG).added == 2
    rows = store.traces("default")
    assert [(r.key, r.input, r.output) for r in rows] == [
        ("span:00f067aa0ba902b7", "ticket 7 about shipping", "SHIPPING"), ("span:00f067aa0ba902b8",
                                                                           "ticket 8 about bug", "BUG")]
    assert json.loads(rows[0].metadata_json)["model"] == "qwen2.5-0.5b"
    lines = tmp_path / "export.jsonl"  # the OTLP file exporter writes one request a line
    broken = {"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "x", "attributes": "oops"}]}]}]}
    lines.write_text(json.dumps(doc) + "\n" + json.dumps(broken) + "\n")
    report = import_traces(store, lines, CFG, fmt="otlp")
    assert (report.added, report.duplicates, [m.line for m in report.malformed]) == (0, 2, [2])


def test_feedback_verdicts_follow_the_config() -> None:
    fb = annotation_feedback([{"name": "rating", "result": {"score": 0.7}}], CFG)
    assert fb.verdict(CFG) == "pass"
    assert fb.verdict(TracesConfig(good_score=0.8)) == "fail"
    assert annotation_feedback([{"label": "WRONG"}], CFG).verdict(CFG) == "fail"
    assert annotation_feedback([], CFG).verdict(CFG) is None


def test_cli_import_reports_counts_and_bad_lines(tmp_path: Path, db_url: str) -> None:
    path = log_lines(tmp_path / "log.jsonl", [{"input": "a", "output": "b", "feedback": {"score": 1}}])
    with path.open("a") as handle:
        handle.write("{broken\n")
    result = runner.invoke(app, ["traces", "import", str(path), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "added 1 to stream 'default', updated 0, 0 already there" in result.output.replace("\n", "")
    assert f"{path}:2: not JSON" in result.output.replace("\n", "")
    again = runner.invoke(app, ["traces", "import", str(path), "--db", db_url, "--json"])
    assert json.loads(again.stdout)[0]["duplicates"] == 1
    listed = runner.invoke(app, ["traces", "list", "--db", db_url, "--json"])
    assert json.loads(listed.stdout) == {"default": 1}
    missing = runner.invoke(app, ["traces", "import", str(tmp_path / "nope.jsonl"), "--db", db_url])
    assert missing.exit_code == 2 and "trace file not found" in missing.output
