"""The LM protocol: chat messages in; text, usage, latency, cost and a cached flag out.

Everything above this module takes an `LM`. Real models (litellm, llama.cpp), fakes and the caching
wrapper all implement the same one method, so tests exercise the same code paths as real runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

Message = dict[str, str]


@dataclass(frozen=True)
class LMRequest:
    """One chat request. Its `key` identifies it for the cache: same model, messages, params, seed and tools."""

    model: str
    messages: tuple[tuple[str, str], ...]
    temperature: float = 0.0
    max_tokens: int = 256
    seed: int = 0
    json_schema: dict[str, Any] | None = None
    stop: tuple[str, ...] = ()
    # OpenAI tool schemas the model may call (promptlearn.toolcalls); None: a plain chat request. The model is
    # never forced to call one: "no call" stays a possible answer.
    tools: tuple[dict[str, Any], ...] | None = None

    @classmethod
    def chat(cls, model: str, messages: list[Message], **params: Any) -> LMRequest:
        pairs = tuple((m["role"], m["content"]) for m in messages)
        if "stop" in params and params["stop"] is not None:
            params["stop"] = tuple(params["stop"])
        if params.get("tools") is not None:
            params["tools"] = tuple(params["tools"])
        return cls(model=model, messages=pairs, **params)

    def message_dicts(self) -> list[Message]:
        return [{"role": role, "content": content} for role, content in self.messages]

    def with_model(self, model: str) -> LMRequest:
        return replace(self, model=model)

    def canonical(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "messages": [list(m) for m in self.messages],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "json_schema": self.json_schema,
            "stop": list(self.stop),
        }
        if self.tools is not None:  # only then: a request without tools keeps the key it always had
            out["tools"] = list(self.tools)
        return out

    @property
    def key(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Completion:
    """A reply. `error` is set (and `text` empty) when the call failed: failure is data, not an exception."""

    text: str
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    cost_usd: float = 0.0
    cached: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@runtime_checkable
class LM(Protocol):
    """Anything that answers an `LMRequest`. Implementations must not raise for a provider failure that
    affects only this request; they return a `Completion` with `error` set instead."""

    def complete(self, request: LMRequest) -> Completion: ...
