"""Read recorded calls from three formats into `Trace`s: a JSONL log (`{input, output, feedback}` a line),
OpenInference spans (Phoenix's span JSON: a JSONL of spans, a JSON list, or a `{"data": [...]}` page) and OTLP/JSON
exports (`{"resourceSpans": [...]}`, one document or one per line).

Span attributes are named by `openinference-semantic-conventions`. A record that cannot be read becomes a
`Malformed` naming its file, line and field; the rest are read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from openinference.semconv.trace import MessageAttributes, SpanAttributes

from promptlearn.config import TracesConfig
from promptlearn.traces.model import Feedback, Malformed, Trace

Format = Literal["auto", "jsonl", "openinference", "otlp"]
FORMATS: tuple[str, ...] = ("auto", "jsonl", "openinference", "otlp")
FEEDBACK_FIELDS = ("score", "label", "comment", "correction")


class Skipped:
    """A span of a kind that is not imported (a retriever, a tool, a chain around the LLM call)."""

    def __init__(self, kind: str):
        self.kind = kind


Item = Trace | Malformed | Skipped


class Bad(ValueError):
    """A record's field is missing or has the wrong type; the message names the field."""


def read_records(path: Path) -> Iterator[tuple[int, Any] | Malformed]:
    """(line, parsed JSON) for each record: a whole JSON document (a list's items numbered from 1), else one JSON
    value a line (blank lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        yield Malformed(str(path), 0, f"cannot read the file: {exc}")
        return
    stripped = text.strip()
    if stripped.startswith(("[", "{")) and "\n" in stripped:
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError:
            document = None  # JSONL: one value a line
        if isinstance(document, list):
            yield from enumerate(document, 1)
            return
        if isinstance(document, dict):
            yield 1, document
            return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield Malformed(str(path), number, f"not JSON ({exc.msg} at column {exc.colno})")


def read_traces(path: Path, cfg: TracesConfig, fmt: str = "auto", annotations: Path | None = None) -> Iterator[Item]:
    """Every trace in `path` (with feedback from span annotations, on the span or in `annotations`), every
    malformed record, and every skipped span."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown trace format '{fmt}'; choose from {', '.join(FORMATS)}")
    extra: dict[str, list[dict[str, Any]]] = {}
    if annotations is not None:
        for item in _annotation_records(annotations):
            if isinstance(item, Malformed):
                yield item
            else:
                extra.setdefault(item[0], []).append(item[1])
    for record in read_records(path):
        if isinstance(record, Malformed):
            yield record
            continue
        number, value = record
        if fmt == "auto" and _detect(value) != "unknown":
            fmt = _detect(value)  # the file's first recognised record names its format for the rest
        yield from _one_record(path, number, value, cfg, fmt, extra)


def _one_record(path: Path, number: int, value: Any, cfg: TracesConfig, fmt: str,
                extra: dict[str, list[dict[str, Any]]]) -> Iterator[Item]:
    where = f"{path}:{number}"
    kind = fmt if fmt != "auto" else _detect(value)
    try:
        if kind == "otlp":
            for span in _otlp_spans(value):
                yield _from_span(span, where, cfg, extra)
        elif kind == "openinference":
            spans = value["data"] if isinstance(value, dict) and isinstance(value.get("data"), list) else [value]
            for span in spans:
                yield _from_span(_openinference_span(span), where, cfg, extra)
        elif kind == "jsonl":
            yield _from_log(value, where)
        else:
            raise Bad("unknown record: expected a log line {input, output, feedback}, an OpenInference span or an "
                      "OTLP/JSON export {resourceSpans: [...]}")
    except Bad as exc:
        yield Malformed(str(path), number, str(exc))


def _detect(value: Any) -> str:
    if isinstance(value, dict):
        if "resourceSpans" in value:
            return "otlp"
        if "context" in value or "span_id" in value or "attributes" in value or isinstance(value.get("data"), list):
            return "openinference"
        if "input" in value:
            return "jsonl"
    return "unknown"


# ---- the JSONL log ------------------------------------------------------------------------------------------
def _text(record: dict[str, Any], name: str, *, required: bool, shown: str | None = None) -> str | None:
    value = record.get(name)
    if value is None:
        if required:
            raise Bad(f"field '{shown or name}' is missing")
        return None
    if not isinstance(value, str):
        raise Bad(f"field '{shown or name}': expected text, got {type(value).__name__}")
    return value


def _from_log(record: Any, where: str) -> Trace:
    if not isinstance(record, dict):
        raise Bad(f"expected a JSON object, got {type(record).__name__}")
    text_input = _text(record, "input", required=True)
    assert text_input is not None
    if not text_input.strip():
        raise Bad("field 'input' is empty")
    output = _text(record, "output", required=True)
    assert output is not None
    feedback = _log_feedback(record.get("feedback"))
    metadata = record.get("metadata", {})
    if not isinstance(metadata, dict):
        raise Bad("field 'metadata': expected an object")
    given = record.get("id")
    if given is not None and not isinstance(given, str | int):
        raise Bad("field 'id': expected text or a number")
    # The hash leaves the feedback out: a line sent again with feedback given later is the same call.
    hashed = {k: v for k, v in record.items() if k != "feedback"}
    key = f"id:{given}" if given is not None else "sha256:" + hashlib.sha256(
        json.dumps(hashed, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]
    return Trace(key, text_input, output, feedback, where, dict(metadata))


def _log_feedback(value: Any) -> Feedback:
    if value is None:
        return Feedback()
    if not isinstance(value, dict):
        raise Bad("field 'feedback': expected an object {score | label | comment | correction}")
    unknown = sorted(set(value) - set(FEEDBACK_FIELDS))
    if unknown:
        raise Bad(f"field 'feedback.{unknown[0]}': unknown (use {', '.join(FEEDBACK_FIELDS)})")
    score = value.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        raise Bad(f"field 'feedback.score': expected a number, got {json.dumps(score)}")
    texts = {name: _text(value, name, required=False, shown=f"feedback.{name}")
             for name in ("label", "comment", "correction")}
    return Feedback(None if score is None else float(score), texts["label"], texts["comment"], texts["correction"])


# ---- spans --------------------------------------------------------------------------------------------------
def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested attributes (`{"llm": {"input_messages": [{"message": ...}]}}`) as OpenInference's dotted keys."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items = enumerate(value)
    else:
        return {prefix: value} if prefix else {}
    out: dict[str, Any] = {}
    for key, inner in items:
        out.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _openinference_span(span: Any) -> dict[str, Any]:
    """Phoenix's span JSON as {span_id, kind, attributes (dotted), annotations}."""
    if not isinstance(span, dict):
        raise Bad(f"expected a span object, got {type(span).__name__}")
    context: dict[str, Any] = span["context"] if isinstance(span.get("context"), dict) else {}
    attributes = span.get("attributes", {})
    if isinstance(attributes, str):  # some exports keep the attributes as a JSON string
        try:
            attributes = json.loads(attributes)
        except json.JSONDecodeError:
            raise Bad("field 'attributes': not JSON") from None
    if not isinstance(attributes, dict):
        raise Bad("field 'attributes': expected an object")
    flat = _flatten(attributes)
    return {"span_id": context.get("span_id") or span.get("span_id") or span.get("spanId"),
            "kind": flat.get(SpanAttributes.OPENINFERENCE_SPAN_KIND) or span.get("span_kind"),
            "attributes": flat, "annotations": span.get("annotations") or []}


def _any_value(value: Any) -> Any:
    """An OTLP/JSON AnyValue as a Python value."""
    if not isinstance(value, dict):
        return value
    for name in ("stringValue", "boolValue", "doubleValue"):
        if name in value:
            return value[name]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {kv.get("key"): _any_value(kv.get("value")) for kv in value["kvlistValue"].get("values", [])}
    return None


def _otlp_spans(document: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(document, dict) or not isinstance(document.get("resourceSpans"), list):
        raise Bad("field 'resourceSpans': expected a list (an OTLP/JSON trace export)")
    for resource in document["resourceSpans"]:
        for scope in (resource or {}).get("scopeSpans") or (resource or {}).get("instrumentationLibrarySpans") or []:
            for span in (scope or {}).get("spans") or []:
                if not isinstance(span, dict) or not isinstance(span.get("attributes", []), list):
                    raise Bad("field 'resourceSpans[].scopeSpans[].spans[]': expected spans with an attribute list")
                attributes = {a.get("key"): _any_value(a.get("value")) for a in span.get("attributes", [])
                              if isinstance(a, dict)}
                yield {"span_id": span.get("spanId"), "kind": attributes.get(SpanAttributes.OPENINFERENCE_SPAN_KIND),
                       "attributes": attributes, "annotations": []}


def _messages(attributes: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    """(role, content) of `llm.input_messages` / `llm.output_messages`, in index order."""
    found: dict[int, dict[str, str]] = {}
    for key, value in attributes.items():
        if not key.startswith(prefix + "."):
            continue
        index, _dot, rest = key[len(prefix) + 1:].partition(".")
        if index.isdigit() and rest in (MessageAttributes.MESSAGE_ROLE, MessageAttributes.MESSAGE_CONTENT):
            found.setdefault(int(index), {})[rest] = str(value)
    return [(m.get(MessageAttributes.MESSAGE_ROLE, ""), m.get(MessageAttributes.MESSAGE_CONTENT, ""))
            for _i, m in sorted(found.items())]


def _from_json_value(raw: Any, pick: str) -> str | None:
    """`input.value` / `output.value` as text; an OpenAI request or response in JSON gives its message."""
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else json.dumps(raw)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text
    if pick == "input" and isinstance(data, dict) and isinstance(data.get("messages"), list):
        users = [m.get("content") for m in data["messages"] if isinstance(m, dict) and m.get("role") == "user"]
        return str(users[-1]) if users else text
    if pick == "output" and isinstance(data, dict) and isinstance(data.get("choices"), list) and data["choices"]:
        message = data["choices"][0].get("message") if isinstance(data["choices"][0], dict) else None
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            return message["content"]
    return text


def _from_span(span: dict[str, Any], where: str, cfg: TracesConfig,
               extra: dict[str, list[dict[str, Any]]]) -> Trace | Skipped:
    kind = str(span["kind"] or "UNKNOWN").upper()
    if kind not in {k.upper() for k in cfg.span_kinds}:
        return Skipped(kind)
    span_id = span["span_id"]
    if not span_id or not isinstance(span_id, str):
        raise Bad("field 'context.span_id' (OTLP: 'spanId') is missing")
    attributes = span["attributes"]
    inputs = _messages(attributes, SpanAttributes.LLM_INPUT_MESSAGES)
    users = [content for role, content in inputs if role == "user"]
    text_input = users[-1] if users else _from_json_value(attributes.get(SpanAttributes.INPUT_VALUE), "input")
    if not text_input:
        raise Bad(f"span {span_id}: no input (attribute '{SpanAttributes.INPUT_VALUE}' or "
                  f"'{SpanAttributes.LLM_INPUT_MESSAGES}.N.{MessageAttributes.MESSAGE_CONTENT}')")
    outputs = [content for role, content in _messages(attributes, SpanAttributes.LLM_OUTPUT_MESSAGES) if content]
    output = outputs[0] if outputs else _from_json_value(attributes.get(SpanAttributes.OUTPUT_VALUE), "output")
    if output is None:
        raise Bad(f"span {span_id}: no output (attribute '{SpanAttributes.OUTPUT_VALUE}' or "
                  f"'{SpanAttributes.LLM_OUTPUT_MESSAGES}.0.{MessageAttributes.MESSAGE_CONTENT}')")
    metadata: dict[str, Any] = {"span_kind": kind}
    system = [content for role, content in inputs if role == "system"]
    if system:
        metadata["system_prompt"] = system[0]
    if attributes.get(SpanAttributes.LLM_MODEL_NAME):
        metadata["model"] = str(attributes[SpanAttributes.LLM_MODEL_NAME])
    notes = [*span["annotations"], *extra.get(span_id, [])]
    return Trace(f"span:{span_id}", text_input, output, annotation_feedback(notes, cfg), where, metadata)


def from_phoenix_span(span: Any, where: str, cfg: TracesConfig, notes: list[dict[str, Any]]) -> Trace | Skipped:
    """One span as Phoenix's REST API returns it (`{context, span_kind, attributes}`), with the annotations it
    holds; raises `Bad` naming the field when the span cannot be read."""
    parsed = _openinference_span(span)
    span_id = parsed["span_id"]
    return _from_span(parsed, where, cfg, {span_id: notes} if isinstance(span_id, str) else {})


def annotation_feedback(annotations: list[Any], cfg: TracesConfig) -> Feedback:
    """Phoenix span annotations (`{name, annotator_kind, result: {label, score, explanation}}`, or flat) as user
    feedback: one named `correction` gives the corrected output; the others give the score, the label and the
    comments. Annotations by an annotator kind not in `cfg.annotator_kinds` (an LLM eval) are not a user's."""
    score: float | None = None
    label: str | None = None
    correction: str | None = None
    comments: list[str] = []
    kinds = {k.upper() for k in cfg.annotator_kinds}
    for note in annotations:
        if not isinstance(note, dict) or str(note.get("annotator_kind") or "").upper() not in kinds:
            continue
        result: dict[str, Any] = note["result"] if isinstance(note.get("result"), dict) else note
        explanation = result.get("explanation")
        metadata: dict[str, Any] = note["metadata"] if isinstance(note.get("metadata"), dict) else {}
        if str(note.get("name", "")).lower() == "correction":
            correction = str(explanation or result.get("label") or "") or correction
            continue
        if isinstance(metadata.get("correction"), str):
            correction = metadata["correction"]
        if score is None and isinstance(result.get("score"), int | float) and not isinstance(result["score"], bool):
            score = float(result["score"])
        if label is None and result.get("label"):
            label = str(result["label"])
        if explanation:
            comments.append(str(explanation))
    return Feedback(score, label, "\n".join(comments) or None, correction)


def _annotation_records(path: Path) -> Iterator[tuple[str, dict[str, Any]] | Malformed]:
    """(span id, annotation) from a file of annotations (JSONL, a JSON list, or a `{"data": [...]}` page)."""
    for record in read_records(path):
        if isinstance(record, Malformed):
            yield record
            continue
        number, value = record
        notes = value["data"] if isinstance(value, dict) and isinstance(value.get("data"), list) else [value]
        for note in notes:
            context: dict[str, Any] = note["context"] if isinstance(note, dict) and isinstance(note.get("context"),
                                                                                           dict) else {}
            span_id = (note.get("span_id") if isinstance(note, dict) else None) or context.get("span_id")
            if not isinstance(span_id, str) or not span_id:
                yield Malformed(str(path), number, "field 'span_id' is missing (an annotation names its span)")
            else:
                yield span_id, note
