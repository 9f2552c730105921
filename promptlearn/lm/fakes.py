"""Test doubles that go through the same LM seam as real models (like DSPy's DummyLM, pydantic-ai's TestModel)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from promptlearn.errors import UnseenRequest
from promptlearn.lm.base import LM, Completion, LMRequest, Usage
from promptlearn.toolcalls import ToolReply

Responder = Callable[[LMRequest], str | ToolReply]


def _approx_tokens(text: str) -> int:
    return max(1, len(text) // 4)


class FakeLM:
    """Scripted replies: a function of the request, a list consumed in order, or a mapping from a substring of
    the last user message to a reply. Records every request it saw in `calls`. A reply may be a `ToolReply`
    (tool calls): it is written as a model's reply to a request with tools is (promptlearn.toolcalls)."""

    def __init__(
        self,
        script: Responder | Iterable[str | ToolReply] | Mapping[str, str | ToolReply],
        default: str | None = None,
        cost_per_call: float = 0.0,
    ):
        self._lock = threading.Lock()
        self.calls: list[LMRequest] = []
        self._default = default
        self._cost = cost_per_call
        if callable(script):
            self._respond: Responder = script
        elif isinstance(script, Mapping):
            self._respond = self._by_substring(dict(script))
        else:
            queue = list(script)
            self._respond = lambda _req: queue.pop(0) if queue else self._fallback()

    # Picklable (a Ray worker gets a copy): the lock is per process. A copy records its own `calls`.
    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _fallback(self) -> str | ToolReply:
        if self._default is None:
            raise AssertionError("FakeLM ran out of scripted replies")
        return self._default

    def _by_substring(self, table: dict[str, str | ToolReply]) -> Responder:
        def respond(request: LMRequest) -> str | ToolReply:
            text = "\n".join(content for _role, content in request.messages)
            for needle, reply in table.items():
                if needle in text:
                    return reply
            return self._fallback()

        return respond

    def complete(self, request: LMRequest) -> Completion:
        with self._lock:
            self.calls.append(request)
            reply = self._respond(request)
        text = reply.as_text() if isinstance(reply, ToolReply) else reply
        prompt = sum(_approx_tokens(c) for _r, c in request.messages)
        return Completion(text=text, usage=Usage(prompt, _approx_tokens(text)), latency_s=0.0, cost_usd=self._cost)


class ReplayLM:
    """Answers only requests it has recorded (by request key); an unseen request fails loudly."""

    def __init__(self, recordings: Mapping[str, str]):
        self._recordings = dict(recordings)

    @classmethod
    def record(cls, inner: LM, requests: Iterable[LMRequest]) -> ReplayLM:
        return cls({req.key: inner.complete(req).text for req in requests})

    def complete(self, request: LMRequest) -> Completion:
        if request.key not in self._recordings:
            last = request.messages[-1][1][:80] if request.messages else ""
            raise UnseenRequest(f"ReplayLM has no recording for a {request.model} request ending {last!r}")
        return Completion(text=self._recordings[request.key], cached=True)


@dataclass
class FaultCounts:
    injected: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1


class FaultyLM:
    """Wraps an LM and injects provider faults at `rate`: raised timeouts/429/500 (as a provider client would)
    or bad replies (empty, malformed JSON, overlong). Deterministic for a given seed."""

    KINDS = ("timeout", "429", "500", "empty", "bad_json", "overlong")

    def __init__(self, inner: LM, rate: float, seed: int = 0, kinds: Iterable[str] = KINDS):
        self.inner, self.rate, self.kinds = inner, rate, tuple(kinds)
        self._rng = random.Random(seed)
        self.faults = FaultCounts()

    def complete(self, request: LMRequest) -> Completion:
        if self._rng.random() >= self.rate:
            return self.inner.complete(request)
        kind = self._rng.choice(self.kinds)
        self.faults.add(kind)
        if kind in ("timeout", "429", "500"):
            raise TransientFault(kind)
        reply = self.inner.complete(request)
        bad = {"empty": "", "bad_json": "{not json", "overlong": reply.text * 50}[kind]
        return Completion(text=bad, usage=reply.usage)


class TransientFault(Exception):
    """What a flaky provider raises; the retrying wrapper treats it like a 429/5xx/timeout."""

    def __init__(self, kind: str):
        super().__init__(f"injected provider fault: {kind}")
        self.kind = kind
        self.retry_after = 0.01 if kind == "429" else None
