"""The LM seam. `Router` sends `local/<name>` to llama.cpp in process, `hf/<folder>` to transformers (see
`promptlearn.lm.hf`) and everything else to litellm."""

from __future__ import annotations

from promptlearn.lm.base import LM, Completion, LMRequest, Message, Usage
from promptlearn.lm.cache import RecordingLM
from promptlearn.lm.fakes import FakeLM, FaultyLM, ReplayLM, TransientFault
from promptlearn.lm.hf import is_hf
from promptlearn.lm.local import LocalLM, is_local
from promptlearn.lm.retry import RetryingLM

__all__ = [
    "LM", "Completion", "LMRequest", "Message", "Usage", "FakeLM", "ReplayLM", "FaultyLM", "TransientFault",
    "RecordingLM", "RetryingLM", "Router", "build_lm",
]


class Router:
    """One LM for every model string, so a config can mix a local task model with a hosted judge."""

    def __init__(self, api_base: str | None = None):
        self._local = LocalLM()
        self._api_base = api_base
        self._hosted: LM | None = None
        self._hf: LM | None = None  # transformers, loaded on the first hf/ request

    def complete(self, request: LMRequest) -> Completion:
        if is_local(request.model):
            return self._local.complete(request)
        if is_hf(request.model):
            if self._hf is None:
                from promptlearn.lm.hf import HFLM

                self._hf = HFLM()
            return self._hf.complete(request)
        if self._hosted is None:
            from promptlearn.lm.litellm_lm import LiteLLMLM

            self._hosted = LiteLLMLM(api_base=self._api_base)
        return self._hosted.complete(request)

    # A Router travels (to Ray workers) as its settings: each process builds its own clients and models.
    def __getstate__(self) -> dict[str, str | None]:
        return {"api_base": self._api_base}

    def __setstate__(self, state: dict[str, str | None]) -> None:
        self.__init__(state["api_base"])  # type: ignore[misc]


def build_lm(store=None, run_id: str | None = None, inner: LM | None = None,  # type: ignore[no-untyped-def]
             max_retries: int = 5, api_base: str | None = None) -> LM:
    """The production stack: cache/record (outermost) -> retries -> the model (or `inner`, e.g. a FakeLM).
    An `inner` that is already a RetryingLM (say, with an injected sleep) is the retry layer itself.
    `api_base` points hosted model strings at an OpenAI-compatible server (llama.cpp server, vLLM)."""
    model = inner or Router(api_base)
    lm: LM = model if isinstance(model, RetryingLM) else RetryingLM(model, max_retries=max_retries)
    return RecordingLM(lm, store, run_id) if store is not None else lm
