"""DSPy through promptlearn's LM seam: a `dspy.LM` whose engine answers every request with our `LM`.

So DSPy's optimizers use the same stack as promptlearn (store cache and record -> retries -> model, or a FakeLM in
tests), every call is counted per role, and the task model's calls stop at the rollout budget: a call past it
is answered, without any model, by a reply that parses and scores 0, so the optimizer finishes normally.
DSPy's own cache stays off (`cache=False`): our store is the only cache, keyed by the full request.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from promptlearn.lm.base import LM, LMRequest
from promptlearn.optimize.budget import Meter, MeteredLM
from promptlearn.toolcalls import ToolReply, Tools, from_tagged_text, read_reply

OVER_BUDGET = "(rollout budget spent)"
_MARKERS = re.compile(r"\[\[ ## \w+ ## \]\]")  # DSPy's ChatAdapter field markers
ToolsFor = Callable[[str], Tools | None]  # a request's last user message -> the tools of the example it asks about


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(getattr(part, "text", "") or "" for part in content)


def _json_schema(response_format: Any) -> dict[str, Any] | None:
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    return None


class SeamEngine:
    """A DSPy engine (`complete(Request) -> Response`) over one of our LMs, for one model and role.

    Sampling DSPy asks for (temperature > 0) gets a seed per repeat of the same request, so repeated proposals
    differ, and a rerun in the same order meets the same seeds: the store then answers every call.
    """

    def __init__(self, lm: LM, meter: Meter, role: str, model: str, max_tokens: int, cap: int | None = None,
                 tools_for: ToolsFor | None = None):
        self.lm, self.meter, self.role, self.model = MeteredLM(lm, meter, role), meter, role, model
        self.max_tokens, self.cap = max_tokens, cap
        # A tool task: the tools of the example a request asks about go with it (found by its input text), and
        # the reply (the calls, as promptlearn.toolcalls writes them) becomes the program's answer field.
        self.tools_for = tools_for
        self.refused = 0
        self._in_flight = 0
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def to_request(self, request: Any) -> LMRequest:
        messages = []
        if request.system is not None:
            messages.append({"role": "system", "content": _text(request.system)})
        messages.extend({"role": m.role, "content": _text(getattr(m, "text", None))} for m in request.messages)
        config = request.config
        temperature = float(config.temperature or 0.0)
        tools = self.tools_for(messages[-1]["content"] if messages else "") if self.tools_for else None
        plain = LMRequest.chat(self.model, messages, temperature=temperature,
                               max_tokens=int(config.max_tokens or self.max_tokens),
                               stop=tuple(config.stop or ()), json_schema=_json_schema(config.response_format),
                               tools=tools)
        seed = int(config.seed or 0)
        if temperature > 0:
            with self._lock:
                seed = self._seen.get(plain.key, 0)
                self._seen[plain.key] = seed + 1
        return replace(plain, seed=seed)

    def _take_budget(self) -> bool:
        with self._lock:
            used = self.meter.spend(self.role).calls + self._in_flight
            if self.cap is not None and used >= self.cap:
                self.refused += 1
                return False
            self._in_flight += 1
            return True

    def complete(self, request: Any) -> Any:
        from dspy.lm15 import Message, Response, TextPart, Usage

        ours = self.to_request(request)
        if not self._take_budget():
            text, usage = self._refusal(ours), Usage(input_tokens=0, output_tokens=0)
        else:
            try:
                reply = self.lm.complete(ours)
            finally:
                with self._lock:
                    self._in_flight -= 1
            if reply.error:
                raise RuntimeError(f"{self.model}: {reply.error}")
            text = reply.text if ours.tools is None else answer_field(reply.text)
            usage = Usage(input_tokens=reply.usage.prompt_tokens, output_tokens=reply.usage.completion_tokens)
        return Response(id=None, model=self.model, message=Message.assistant([TextPart(text)]),
                        finish_reason="stop", usage=usage)

    def _refusal(self, request: LMRequest) -> str:
        if request.json_schema is not None:
            return '{"answer": "' + OVER_BUDGET + '"}'
        return f"[[ ## answer ## ]]\n{OVER_BUDGET}\n\n[[ ## completed ## ]]"

    def stream(self, request: Any) -> Any:
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass


def answer_field(text: str) -> str:
    """A tool reply as the program's answer field. Calls the model wrote as text inside DSPy's field markers
    count as calls, by the rule the embedded model's replies follow (a reply that is nothing but call JSON)."""
    reply = read_reply(text)
    if reply is not None and not reply.calls:
        inner = _MARKERS.sub("", reply.content)
        written = from_tagged_text(inner)
        if written.calls:
            text = ToolReply("", written.calls).as_text()
    return f"[[ ## answer ## ]]\n{text}\n\n[[ ## completed ## ]]"


def dspy_lm(engine: SeamEngine) -> Any:
    """A `dspy.LM` that reaches no provider: our engine answers, DSPy's cache is off, retries are ours."""
    import dspy

    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    return dspy.LM(engine.model, engine=engine, cache=False, num_retries=0)
