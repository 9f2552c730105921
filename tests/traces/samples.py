"""Trace files in the three formats, written as the tools that make them write them (attribute names from
openinference-semantic-conventions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openinference.semconv.trace import MessageAttributes, OpenInferenceSpanKindValues, SpanAttributes

SYSTEM = "Label the support ticket: BILLING, BUG, ACCOUNT or SHIPPING."
ROLE, CONTENT = MessageAttributes.MESSAGE_ROLE, MessageAttributes.MESSAGE_CONTENT


def log_lines(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def llm_attributes(user: str, answer: str) -> dict[str, Any]:
    """Flat OpenInference attributes of an LLM span (as the OpenAI instrumentation sets them)."""
    m_in, m_out = SpanAttributes.LLM_INPUT_MESSAGES, SpanAttributes.LLM_OUTPUT_MESSAGES
    return {SpanAttributes.OPENINFERENCE_SPAN_KIND: OpenInferenceSpanKindValues.LLM.value,
            SpanAttributes.LLM_MODEL_NAME: "qwen2.5-0.5b",
            f"{m_in}.0.{ROLE}": "system", f"{m_in}.0.{CONTENT}": SYSTEM,
            f"{m_in}.1.{ROLE}": "user", f"{m_in}.1.{CONTENT}": user,
            f"{m_out}.0.{ROLE}": "assistant", f"{m_out}.0.{CONTENT}": answer,
            SpanAttributes.INPUT_VALUE: json.dumps({"messages": [{"role": "user", "content": user}]}),
            SpanAttributes.OUTPUT_VALUE: answer}


def phoenix_span(span_id: str, user: str, answer: str, annotations: list[dict[str, Any]] | None = None,
                 kind: str = "LLM") -> dict[str, Any]:
    """A span as Phoenix's span JSON holds it: context ids, span kind, attributes (flat keys)."""
    attributes = llm_attributes(user, answer)
    attributes[SpanAttributes.OPENINFERENCE_SPAN_KIND] = kind
    span: dict[str, Any] = {"name": "ChatCompletion", "context": {"trace_id": "t" + span_id, "span_id": span_id},
                            "span_kind": kind, "parent_id": None, "attributes": attributes}
    if annotations:
        span["annotations"] = annotations
    return span


def _any(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def otlp_export(spans: list[tuple[str, str, str]]) -> dict[str, Any]:
    """An OTLP/JSON ExportTraceServiceRequest with one LLM span per (span id, input, output)."""
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "support-bot"}}]},
        "scopeSpans": [{"scope": {"name": "openinference.instrumentation.openai"}, "spans": [
            {"traceId": "0" * 31 + "1", "spanId": span_id, "name": "ChatCompletion", "kind": 1,
             "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
             "attributes": [{"key": k, "value": _any(v)} for k, v in llm_attributes(user, answer).items()],
             "status": {"code": 1}}
            for span_id, user, answer in spans]}]}]}


def thumbs(value: str, explanation: str | None = None, kind: str = "HUMAN") -> dict[str, Any]:
    return {"name": "user_feedback", "annotator_kind": kind,
            "result": {"label": value, "score": 1.0 if value == "thumbs_up" else 0.0, "explanation": explanation}}
