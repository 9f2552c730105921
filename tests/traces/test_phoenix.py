"""Phoenix as a trace source and a prompt sink, against a stand-in client that answers what Phoenix's REST API answers
(the spans below are copied from a real Phoenix 20.26 server's `/v1/projects/P/spans`); the real server's round trip
is tests/integration/test_phoenix.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from promptlearn.cli.main import app
from promptlearn.config import TracesConfig
from promptlearn.errors import ConfigError, DatasetError
from promptlearn.store import Store
from promptlearn.traces.phoenix import connect, prompt_text, pull_traces, push_prompt

SYSTEM = "Label the support ticket: BILLING, BUG, ACCOUNT or SHIPPING. Answer with the label."


def llm_span(span_id: str, ticket: str, answer: str) -> dict[str, Any]:
    return {"id": "U3Bhbjoz", "name": "ChatCompletion", "span_kind": "LLM", "parent_id": "7382f2abf9ec6620",
            "context": {"trace_id": "0364f1e08bf646b356f0312d88d7f736", "span_id": span_id},
            "start_time": "2026-12-01T00:51:46.589409+00:00", "end_time": "2026-12-01T00:51:48.875773+00:00",
            "status_code": "OK", "status_message": "", "events": [],
            "attributes": {"input.mime_type": "application/json", "llm.system": "openai", "llm.model_name": "qwen",
                           "llm.output_messages.0.message.role": "assistant",
                           "llm.output_messages.0.message.content": answer,
                           "llm.input_messages.0.message.role": "system",
                           "llm.input_messages.0.message.content": SYSTEM,
                           "llm.input_messages.1.message.role": "user",
                           "llm.input_messages.1.message.content": ticket}}


CHAIN = {"name": "handle_ticket", "span_kind": "CHAIN", "context": {"trace_id": "t", "span_id": "7382f2abf9ec6620"},
         "attributes": {"input.value": "The app crashes", "output.value": "SHIPPING"}}


def note(span_id: str, name: str, kind: str = "HUMAN", **result: Any) -> dict[str, Any]:
    return {"id": "a", "span_id": span_id, "name": name, "annotator_kind": kind, "result": result, "metadata": {},
            "identifier": "", "source": "API", "user_id": None, "created_at": "", "updated_at": ""}


class FakeSpans:
    def __init__(self, spans: list[dict[str, Any]], notes: list[dict[str, Any]]):
        self.spans, self.notes = spans, notes

    def get_spans(self, *, project_identifier: str, limit: int) -> list[dict[str, Any]]:
        assert project_identifier == "support"
        return self.spans[:limit]

    def get_span_annotations(self, *, spans: list[dict[str, Any]], project_identifier: str) -> list[dict[str, Any]]:
        ids = {s["context"]["span_id"] for s in spans if isinstance(s.get("context"), dict)}
        return [n for n in self.notes if n["span_id"] in ids]


class FakeVersion:
    def __init__(self, messages: list[dict[str, Any]], *, model_name: str, **_kw: Any):
        self.messages, self.model, self.id = messages, model_name, None

    def format(self, sdk: str) -> dict[str, Any]:
        assert sdk == "openai"
        return {"messages": self.messages, "model": self.model}


class FakePrompts:
    def __init__(self) -> None:
        self.versions: dict[str, list[FakeVersion]] = {}

    def get(self, *, prompt_identifier: str) -> FakeVersion:
        if prompt_identifier not in self.versions:
            raise ValueError(f"Prompt not found: {prompt_identifier}")
        return self.versions[prompt_identifier][-1]

    def create(self, *, version: FakeVersion, name: str, **_kw: Any) -> FakeVersion:
        version.id = f"v{sum(len(v) for v in self.versions.values()) + 1}"
        self.versions.setdefault(name, []).append(version)
        return version


class FakeClient:
    def __init__(self, spans: list[dict[str, Any]] | None = None, notes: list[dict[str, Any]] | None = None):
        self.spans = FakeSpans(spans or [], notes or [])
        self.prompts = FakePrompts()


def test_spans_and_their_annotations_become_traces_with_feedback_once(tmp_path: Path) -> None:
    spans = [CHAIN, llm_span("aa01", "The app crashes when I open settings", "SHIPPING"),
             llm_span("aa02", "I was charged twice", "BILLING"), llm_span("aa03", "Where is my parcel?", "SHIPPING"),
             {"span_kind": "LLM", "context": {"span_id": "aa04"}, "attributes": {"llm.model_name": "qwen"}}]
    notes = [note("aa01", "user_feedback", label="thumbs_down", explanation="a crash is a bug"),
             note("aa01", "correction", label="BUG"),
             note("aa02", "user_feedback", score=1.0, label="thumbs_up"),
             note("aa03", "helpfulness", kind="LLM", label="bad", explanation="an eval, not a user")]
    client, store = FakeClient(spans, notes), Store(str(tmp_path / "t.db"))
    report = pull_traces(store, "http://phoenix:6006/", "support", TracesConfig(), client=client)
    assert (report.added, report.duplicates, dict(report.skipped)) == (3, 0, {"CHAIN": 1})
    assert (report.with_feedback, report.corrections) == (2, 1)
    assert [str(m) for m in report.malformed] == ["phoenix http://phoenix:6006 project support:5: span aa04: no input "
                                                  "(attribute 'input.value' or 'llm.input_messages.N.message.content')"]
    rows = {row.key: row for row in store.traces("default")}
    crash = rows["span:aa01"]
    assert (crash.input, crash.output, crash.label, crash.comment, crash.correction) == (
        "The app crashes when I open settings", "SHIPPING", "thumbs_down", "a crash is a bug", "BUG")
    assert json.loads(crash.metadata_json) == {"model": "qwen", "span_kind": "LLM", "system_prompt": SYSTEM}
    assert (rows["span:aa02"].score, rows["span:aa02"].label) == (1.0, "thumbs_up")
    assert rows["span:aa03"].label is None and rows["span:aa03"].comment is None  # the LLM eval is not feedback
    again = pull_traces(store, "http://phoenix:6006", "support", TracesConfig(), client=client)
    assert (again.added, again.duplicates) == (0, 3)
    assert store.count_traces("default") == 3


def test_pulled_text_is_scrubbed_before_it_is_stored(tmp_path: Path) -> None:
    client = FakeClient([llm_span("bb01", "Refund me at jane.doe@example.com", "BILLING")],
                        [note("bb01", "user_feedback", label="thumbs_down", explanation="call 415-555-0123")])
    store = Store(str(tmp_path / "t.db"))
    report = pull_traces(store, "http://phoenix", "support", TracesConfig(), client=client)
    [row] = store.traces("default")
    assert row.input == "Refund me at [EMAIL]" and "[PHONE]" in (row.comment or "")
    assert report.scrubbed["email"] == 1
    assert b"jane.doe" not in (tmp_path / "t.db").read_bytes()


def test_push_writes_a_version_once_per_text_and_model() -> None:
    client = FakeClient()
    first = push_prompt("http://p", "triage", "Label it.\n- a rule", "qwen", client=client, version_factory=FakeVersion)
    same = push_prompt("http://p", "triage", "Label it.\n- a rule", "qwen", client=client, version_factory=FakeVersion)
    other = push_prompt("http://p", "triage", "Label it.\n- two rules", "qwen", client=client,
                        version_factory=FakeVersion)
    assert (first.created, same.created, other.created) == (True, False, True)
    assert same.version_id == first.version_id != other.version_id
    written = [v.messages for v in client.prompts.versions["triage"]]
    assert written == [[{"role": "system", "content": t}] for t in ("Label it.\n- a rule", "Label it.\n- two rules")]
    assert prompt_text("http://p", "triage", client=client) == "Label it.\n- two rules"
    with pytest.raises(DatasetError, match="no prompt 'missing'"):
        prompt_text("http://p", "missing", client=client)
    with pytest.raises(ConfigError, match="letters, digits"):
        push_prompt("http://p", "bad name!", "x", "qwen", client=client, version_factory=FakeVersion)


def test_without_the_extra_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "phoenix.client", None)  # as if arize-phoenix-client were not installed
    with pytest.raises(ConfigError, match=r"promptlearn\[phoenix\]"):
        connect("http://127.0.0.1:6006")
    result = CliRunner().invoke(app, ["traces", "pull", "--phoenix", "http://127.0.0.1:6006", "--project", "p"])
    assert result.exit_code == 2 and "promptlearn[phoenix]" in result.output


def test_an_unreachable_server_is_named_with_what_to_do(tmp_path: Path) -> None:
    pytest.importorskip("phoenix.client", reason="needs the phoenix extra: pip install 'promptlearn[phoenix]'")
    from promptlearn.localhost import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ConfigError, match=f"cannot reach Phoenix at {url}.*--phoenix"):
        pull_traces(Store(str(tmp_path / "t.db")), url, "support", TracesConfig())
    result = CliRunner().invoke(app, ["traces", "push", "nosuchrun", "--prompt", "p", "--phoenix", url])
    assert result.exit_code == 2


def test_an_annotation_added_after_the_pull_updates_the_span_on_the_next_pull(tmp_path: Path) -> None:
    spans = [llm_span("cc01", "I was charged twice", "BUG"), llm_span("cc02", "Where is my parcel?", "SHIPPING")]
    client, store = FakeClient(spans, []), Store(str(tmp_path / "t.db"))
    first = pull_traces(store, "http://phoenix", "support", TracesConfig(), client=client)
    assert (first.added, first.updated, first.with_feedback) == (2, 0, 0)
    # A user annotates cc01 in Phoenix after it was pulled.
    client.spans.notes += [note("cc01", "user_feedback", label="thumbs_down", explanation="mail jane.doe@example.com"),
                           note("cc01", "correction", label="BILLING")]
    later = pull_traces(store, "http://phoenix", "support", TracesConfig(), client=client)
    assert (later.added, later.updated, later.duplicates, later.kept) == (0, 1, 1, 0)
    rows = {row.key: row for row in store.traces("default")}
    assert (rows["span:cc01"].label, rows["span:cc01"].comment, rows["span:cc01"].correction) == (
        "thumbs_down", "mail [EMAIL]", "BILLING")
    assert rows["span:cc02"].label is None
    again = pull_traces(store, "http://phoenix", "support", TracesConfig(), client=client)
    assert (again.added, again.updated, again.duplicates) == (0, 0, 2)
    assert b"jane.doe" not in (tmp_path / "t.db").read_bytes()
