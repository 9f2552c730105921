"""Answer repeated requests from the store, and record every new call there."""

from __future__ import annotations

from promptlearn.lm.base import LM, Completion, LMRequest


class RecordingLM:
    """Same model, messages, params and seed -> the stored reply; a rerun or a resumed run makes no call.
    `replay_only` turns a cache miss into an error (deterministic CI from a recorded store)."""

    def __init__(self, inner: LM, store, run_id: str | None = None, replay_only: bool = False):  # type: ignore[no-untyped-def]
        self.inner, self.store, self.run_id, self.replay_only = inner, store, run_id, replay_only

    def for_run(self, run_id: str) -> RecordingLM:
        return RecordingLM(self.inner, self.store, run_id, self.replay_only)

    def complete(self, request: LMRequest) -> Completion:
        cached = self.store.cached_completion(request.key)
        if cached is not None:
            return cached
        if self.replay_only:
            from promptlearn.errors import UnseenRequest

            raise UnseenRequest(f"replay-only: no stored reply for a {request.model} request")
        reply = self.inner.complete(request)
        self.store.record_call(request, reply, self.run_id)
        return reply
