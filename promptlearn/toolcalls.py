"""Tool calls as text: how the tools a task offers are checked, and how a reply to a request with tools is written.

A reply to a request that carried tools is one JSON object, `{"content": "...", "tool_calls": [{"name": "f",
"arguments": {...}}]}`, whatever the provider: hosted models' `tool_calls`, the embedded model's `<tool_call>`
blocks (its chat template's format) and FakeLM's scripted calls all end up so. It is what the store caches, what
the rollout's output holds, and what the judge and the rewriter read. An empty `tool_calls` is the "no call"
answer. A call whose arguments are not JSON keeps them as the raw text (`arguments` is then a string): the scorer
turns it into a score and a reason, never an exception.

Tools use the OpenAI tool schema (`{"type": "function", "function": {"name", "description", "parameters"}}`); a
bare function (`{"name", "description", "parameters"}`) is accepted and wrapped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Tools = tuple[dict[str, Any], ...]
_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCE = re.compile(r"```[ \t]*(?:json)?[ \t]*\n?(.*?)```", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: Any  # a dict when the model wrote JSON arguments; else the raw text it wrote

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass(frozen=True)
class ToolReply:
    content: str
    calls: tuple[ToolCall, ...] = ()

    def as_text(self) -> str:
        return json.dumps({"content": self.content, "tool_calls": [c.as_dict() for c in self.calls]},
                          ensure_ascii=False)


def normalize_tools(value: Any) -> Tools:
    """A tool list in the OpenAI tool schema (a JSON string is parsed); ValueError names what is wrong."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"tools are not valid JSON ({exc})") from None
    if not isinstance(value, list):
        raise ValueError(f"tools must be a list of tool schemas, got {type(value).__name__}")
    out = []
    for index, tool in enumerate(value):
        if isinstance(tool, dict) and "function" not in tool and "name" in tool:
            tool = {"type": "function", "function": tool}
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            raise ValueError(f"tool {index}: expected {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}")
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise ValueError(f"tool {index} ({function['name']}): parameters must be a JSON Schema object")
        out.append({"type": "function", "function": {**function, "parameters": parameters}})
    return tuple(out)


def tool_names(tools: Iterable[dict[str, Any]]) -> list[str]:
    return [str(t["function"]["name"]) for t in tools]


def _arguments(raw: Any) -> Any:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return raw
        return parsed if isinstance(parsed, dict) else raw
    return raw if raw is not None else {}


def from_openai(content: str | None, calls: Sequence[Any] | None) -> ToolReply:
    """A hosted model's message: `tool_calls` of `{"function": {"name", "arguments": "<JSON text>"}}` (objects
    or dicts, as litellm and llama-cpp-python return them)."""
    out = []
    for call in calls or ():
        function = call.get("function") if isinstance(call, dict) else getattr(call, "function", None)
        if isinstance(function, dict):
            name, raw = function.get("name"), function.get("arguments")
        else:
            name, raw = getattr(function, "name", None), getattr(function, "arguments", None)
        out.append(ToolCall(str(name or ""), _arguments(raw)))
    return ToolReply(content or "", tuple(out))


def _call_of(data: Any) -> ToolCall | None:
    if isinstance(data, dict) and isinstance(data.get("name"), str) and ("arguments" in data or "parameters" in data):
        return ToolCall(data["name"], _arguments(data.get("arguments", data.get("parameters"))))
    return None


def _bare_calls(text: str) -> tuple[ToolCall, ...]:
    """Calls written as bare JSON objects, one after another (the body of <tool_call> blocks whose tags the
    tokenizer dropped as special tokens); () unless the whole text is such calls."""
    body = _FENCE.sub(r"\1", text).strip()
    calls, decoder, at = [], json.JSONDecoder(), 0
    while at < len(body):
        try:
            data, end = decoder.raw_decode(body, at)
        except ValueError:
            return ()
        call = _call_of(data)
        if call is None:
            return ()
        calls.append(call)
        at = end
        while at < len(body) and body[at] in " \t\r\n,":
            at += 1
    return tuple(calls)


def from_tagged_text(text: str) -> ToolReply:
    """A reply in the Hermes / Qwen format: each call a `<tool_call>{"name": ..., "arguments": ...}</tool_call>`
    block; the text outside the blocks is the content. A block that is not such JSON is a call without a name
    whose arguments are the block's raw text (the scorer says it is malformed). A reply that is nothing but such
    JSON objects is those calls (the embedded model's tags are special tokens, left out of the text)."""
    calls = []
    for match in _TAGGED.finditer(text):
        block = match.group(1).strip()
        try:
            call = _call_of(json.loads(block))
        except ValueError:
            call = None
        calls.append(call or ToolCall("", block))
    if not calls:
        bare = _bare_calls(text)
        return ToolReply("", bare) if bare else ToolReply(text.strip(), ())
    return ToolReply(_TAGGED.sub("", text).strip(), tuple(calls))


def read_reply(text: str) -> ToolReply | None:
    """The reply a tool request's completion text holds; None when the text is not one (a plain answer)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tool_calls"), list):
        return None
    calls = tuple(ToolCall(str(c.get("name") or ""), c.get("arguments")) if isinstance(c, dict) else ToolCall("", c)
                  for c in data["tool_calls"])
    content = data.get("content")
    return ToolReply(content if isinstance(content, str) else "", calls)
