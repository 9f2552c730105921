"""The embedded model: llama.cpp in process, addressed as `local/<name>`.

One `Llama` instance per model file per process (loading costs seconds and memory), guarded by a lock because
llama.cpp contexts are not thread-safe and DSPy optimizers call from threads.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from promptlearn.errors import ModelError
from promptlearn.lm import models
from promptlearn.lm.base import Completion, LMRequest, Usage
from promptlearn.toolcalls import ToolReply, from_openai, from_tagged_text

PREFIX = "local/"
_engines: dict[str, tuple[Any, threading.Lock]] = {}
_engines_lock = threading.Lock()


def is_local(model: str) -> bool:
    return model.startswith(PREFIX)


def local_name(model: str) -> str:
    return model[len(PREFIX):] if is_local(model) else model


def threads() -> int:
    return int(os.environ.get("PROMPTLEARN_THREADS", "0")) or max(1, os.cpu_count() or 1)


def engine(name: str) -> tuple[Any, threading.Lock]:
    """Load (once) and return the llama.cpp model and its lock."""
    # Keyed by file path, not name: another models folder (PROMPTLEARN_MODELS_DIR) is verified and loaded anew.
    key = str(models.model_path(name))
    with _engines_lock:
        if key not in _engines:
            path = models.verified_path(name)
            try:
                from llama_cpp import Llama
            except ImportError as exc:  # pragma: no cover - a broken install
                raise ModelError("llama-cpp-python is not installed; run: make install") from exc
            spec = models.spec(name)
            llm = Llama(model_path=str(path), n_ctx=spec.context, n_threads=threads(), verbose=False,
                        chat_format=spec.chat_format)
            _engines[key] = (llm, threading.Lock())
        return _engines[key]


@atexit.register
def close_all() -> None:
    """Free models before interpreter teardown; llama-cpp-python's own __del__ fails noisily at that point."""
    with _engines_lock:
        for llm, _lock in _engines.values():
            llm.close()
        _engines.clear()


def raw_chat(name: str, request: LMRequest) -> dict[str, Any]:
    """Call llama.cpp's chat completion; returns its OpenAI-shaped response dict."""
    llm, lock = engine(name)
    kwargs: dict[str, Any] = {
        "messages": request.message_dicts(),
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
    }
    if request.stop:
        kwargs["stop"] = list(request.stop)
    if request.tools is not None and template_renders_tools(llm, models.spec(name).chat_format):
        # The model's own chat template renders the tools (Qwen2.5: a <tools> block in the system turn) and the
        # model answers with <tool_call> blocks or plain text: no grammar forces a call, so "no call" stays open.
        kwargs["tools"] = list(request.tools)
    elif request.tools is not None:  # a template without tools would drop them: the same block, written here
        kwargs["messages"] = messages_with_tools(kwargs["messages"], request.tools)
    if request.json_schema is not None:
        # llama.cpp compiles the schema to a grammar: the reply is valid JSON of that shape by construction.
        kwargs["response_format"] = {"type": "json_object", "schema": request.json_schema}
    with lock:
        # llama-cpp-python reuses the KV cache of a shared prefix (the system prompt + playbook): a large
        # speed-up when one prompt answers many examples. Greedy decoding keeps replies deterministic.
        return llm.create_chat_completion(**kwargs)


class LocalLM:
    """`LM` for `local/<name>` models."""

    def complete(self, request: LMRequest) -> Completion:
        name = local_name(request.model)
        models.spec(name)  # unknown names are a user error, raised before any work
        start = time.perf_counter()
        try:
            response = raw_chat(name, request)
        except ModelError:
            raise
        except Exception as exc:  # llama.cpp errors (context overflow, ...) affect this request only
            return Completion(text="", latency_s=time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")
        usage = response.get("usage") or {}
        message = response["choices"][0]["message"]
        text = message.get("content") or ""
        if request.tools is not None:
            text = tool_reply(text, message.get("tool_calls")).as_text()
        return Completion(
            text=text,
            usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
            latency_s=time.perf_counter() - start,
        )


def tool_reply(content: str, parsed_calls: Any) -> ToolReply:
    """The calls of a reply to a request with tools: those llama-cpp-python parsed (a function-calling chat
    format), else the <tool_call> blocks the model wrote in its text."""
    if parsed_calls:
        return from_openai(content, parsed_calls)
    return from_tagged_text(content)


TOOLS_BLOCK = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with "
    "function signatures within <tools></tools> XML tags:\n<tools>\n{tools}\n</tools>\n\nFor each function call, "
    "return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>')


def template_renders_tools(llm: Any, chat_format: str | None) -> bool:
    """Whether the model's own (GGUF) chat template takes `tools`; a named chat_format does not."""
    template = (getattr(llm, "metadata", None) or {}).get("tokenizer.chat_template") or ""
    return chat_format is None and "tools" in template


def messages_with_tools(messages: list[dict[str, str]], tools: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """The tools in the system turn, in the Hermes / Qwen format (what such a template would have written)."""
    block = TOOLS_BLOCK.format(tools="\n".join(json.dumps(t, ensure_ascii=False) for t in tools))
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": messages[0]["content"] + block}, *messages[1:]]
    return [{"role": "system", "content": block.lstrip()}, *messages]
