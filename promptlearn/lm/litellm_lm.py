"""The one module that imports litellm: hosted models, and the `local/<name>` custom provider for DSPy.

litellm is imported lazily (it costs seconds at import and tries to fetch a price list unless told not to).
API keys are read by litellm from the environment; they never pass through promptlearn's records.
"""

from __future__ import annotations

import os
import time
from typing import Any

from promptlearn.errors import ModelError
from promptlearn.lm.base import Completion, LMRequest, Usage
from promptlearn.lm.retry import is_transient
from promptlearn.toolcalls import from_openai

_registered = False


def import_litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # offline, and faster
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True  # its "Give Feedback / Get Help" banner on every failed call
    register_local_provider(litellm)
    return litellm


class LiteLLMLM:
    """`LM` for any model string litellm knows (`openai/gpt-4.1-mini`, `anthropic/...`, `hosted_vllm/...`)."""

    def __init__(self, api_base: str | None = None, timeout: float = 120.0):
        self.api_base, self.timeout = api_base, timeout
        # How this endpoint takes a JSON schema: OpenAI's `json_schema` response format, or (llama-cpp-python's
        # server, which answers 500 to `json_schema`) `json_object` with the schema beside it. Learnt on first use.
        self.schema_format = "json_schema"

    def request_kwargs(self, request: LMRequest) -> dict[str, Any]:
        """litellm.completion's arguments for `request`."""
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": request.message_dicts(),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "seed": request.seed,
            "timeout": self.timeout,
            "num_retries": 0,  # RetryingLM owns retries, so faults are counted and Retry-After respected
        }
        if request.stop:
            kwargs["stop"] = list(request.stop)
        if self.api_base:
            kwargs["api_base"] = self.api_base
            if request.model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
                # A self-hosted server (llama.cpp, vLLM) usually checks no key, but the OpenAI client refuses to
                # send without one. One that does check answers 401, reported as a missing key below.
                kwargs["api_key"] = "no-key"
        if request.tools is not None:
            kwargs["tools"] = list(request.tools)  # tool_choice stays the provider's "auto": no call is an answer
        if request.json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": request.json_schema, "strict": False},
            } if self.schema_format == "json_schema" else {"type": "json_object", "schema": request.json_schema}
        return kwargs

    def complete(self, request: LMRequest) -> Completion:
        litellm = import_litellm()
        kwargs = self.request_kwargs(request)
        start = time.perf_counter()
        try:
            response = litellm.completion(**kwargs)
        except Exception as exc:
            if request.json_schema is not None and self.schema_format == "json_schema" and _rejects_json_schema(exc):
                self.schema_format = "json_object"
                return self.complete(request)
            if is_transient(exc):
                raise
            if type(exc).__name__ in ("AuthenticationError", "NotFoundError", "BadRequestError") and (
                "api key" in str(exc).lower() or "not found" in str(exc).lower()
            ):
                raise ModelError(f"{request.model}: {type(exc).__name__}; check the model name and its API key "
                                 "environment variable") from None
            return Completion(text="", latency_s=time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")
        return _to_completion(litellm, response, time.perf_counter() - start, request.tools is not None)


def _rejects_json_schema(exc: Exception) -> bool:
    """The server refused the `json_schema` response format but takes `json_object` (llama-cpp-python's says
    "Input should be 'text' or 'json_object'", as a 500)."""
    message = str(exc)
    return "json_schema" in message and "json_object" in message and "response_format" in message


def _to_completion(litellm: Any, response: Any, latency: float, with_tools: bool) -> Completion:
    usage = getattr(response, "usage", None)
    try:
        cost = float(litellm.completion_cost(completion_response=response))
    except Exception:  # unknown price for this model: record 0 rather than fail the call
        cost = 0.0
    message = response.choices[0].message
    text = message.content or ""
    if with_tools:  # the calls it made, as promptlearn.toolcalls writes them
        text = from_openai(message.content, getattr(message, "tool_calls", None)).as_text()
    return Completion(
        text=text,
        usage=Usage(getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0),
        latency_s=latency,
        cost_usd=cost,
    )


def register_local_provider(litellm: Any | None = None) -> None:
    """Make `local/<name>` a litellm provider, so `dspy.LM("local/smollm2-135m")` runs our embedded model."""
    global _registered
    if _registered:
        return
    litellm = litellm or import_litellm()
    from litellm import CustomLLM
    from litellm.types.utils import ModelResponse

    from promptlearn.lm.local import LocalLM

    class LocalProvider(CustomLLM):
        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
            params = kwargs.get("optional_params") or {}
            request = LMRequest.chat(
                f"local/{model.split('/', 1)[-1]}",
                [{"role": m["role"], "content": _text_of(m.get("content"))} for m in messages],
                temperature=float(params.get("temperature", 0.0) or 0.0),
                max_tokens=int(params.get("max_tokens") or params.get("max_completion_tokens") or 512),
                seed=int(params.get("seed") or 0),
            )
            reply = LocalLM().complete(request)
            if reply.error:
                raise RuntimeError(reply.error)
            return ModelResponse(
                model=request.model,
                choices=[{"message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop"}],
                usage={"prompt_tokens": reply.usage.prompt_tokens, "completion_tokens": reply.usage.completion_tokens,
                       "total_tokens": reply.usage.total},
            )

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
            return self.completion(model, messages, *args, **kwargs)

    litellm.custom_provider_map = [
        entry for entry in (litellm.custom_provider_map or []) if entry.get("provider") != "local"
    ] + [{"provider": "local", "custom_handler": LocalProvider()}]
    _registered = True


def _text_of(content: Any) -> str:
    """DSPy may send content as a list of parts; we only serve text."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def price_per_token(model: str) -> float:
    """Input-token price from litellm's bundled price list; 0 for our local models."""
    if model.startswith("local/"):
        return 0.0
    litellm = import_litellm()
    info = litellm.get_model_info(model)
    return float(info.get("input_cost_per_token") or 0.0)
