"""Run one prompt over examples with the task model, score each answer, and store each rollout once.

A model error or an unparseable answer is a score of 0 with its reason: failure is data. A rollout already
stored for (run, version, example, sample) is reused, so a resumed run never repeats or duplicates one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from promptlearn.config import QualityConfig
from promptlearn.data import Example, Score, Scorer
from promptlearn.executor import Executor, make_executor
from promptlearn.lm.base import LM, LMRequest
from promptlearn.playbook.playbook import split_worked_examples
from promptlearn.quality.calibration import (
    CONFIDENCE_INSTRUCTION,
    FOLLOWUP_MAX_TOKENS,
    FOLLOWUP_QUESTION,
    AnswerWithConfidence,
    read_probability,
    split_confidence,
)
from promptlearn.store.tables import RolloutRow

OnResult = Callable[["RolloutResult"], None]


@dataclass(frozen=True)
class RolloutResult:
    example: Example
    output: str
    score: float
    reason: str
    parsed: str | None = None
    error: str | None = None
    rollout_id: int | None = None
    reused: bool = False
    confidence: float | None = None  # stated by the task model (quality.confidence); None when not stated

    @property
    def correct(self) -> bool:
        return self.score >= 1.0


def task_messages(system_prompt: str, example: Example) -> list[dict[str, str]]:
    """The system prompt, the playbook's worked examples as conversation turns, then the input."""
    system, shots = split_worked_examples(system_prompt)
    turns = [{"role": role, "content": text} for shot in shots
             for role, text in (("user", shot[0]), ("assistant", shot[1]))]
    return [{"role": "system", "content": system}, *turns, {"role": "user", "content": example.input}]


def safe_score(scorer: Scorer, output: str, example: Example) -> Score:
    try:
        return scorer(output, example)
    except Exception as exc:  # a user scorer's bug costs this example, not the run
        return Score(0.0, f"scorer {getattr(scorer, 'name', '?')} failed: {type(exc).__name__}: {exc}", None)


@dataclass
class RolloutRunner:
    lm: LM
    model: str
    scorer: Scorer
    store: object | None = None  # promptlearn.store.Store; typed loosely to keep the store optional
    run_id: str | None = None
    concurrency: int = 1
    confidence: bool = False  # ask for a stated confidence and read it back (quality.confidence)
    # "followup": a second turn after the answer; "inline": one line in it
    confidence_mode: str = QualityConfig.model_fields["confidence_mode"].default
    executor: Executor | None = None  # None: serial at concurrency 1, else asyncio with `concurrency` at once
    max_tokens: int = field(kw_only=True)  # the task model's reply length (models.task_max_tokens)

    def run(self, system_prompt: str, examples: Sequence[Example], version: int, split: str,
            on_result: OnResult | None = None) -> list[RolloutResult]:
        executor = self.executor or make_executor(self.concurrency)
        # The executor's layer (rate limits, remote calls) goes over the model itself, on a copy of the stack:
        # cache lookups, retries and store writes stay here, on the driver.
        runner = replace(self, lm=executor.bind(self.lm))

        def one(example: Example) -> RolloutResult:
            return runner._one(system_prompt, example, version, split)

        # Results come back in input order: they never depend on which call finished first.
        return executor.map(one, examples, on_result)

    def _ask_confidence(self, system_prompt: str, example: Example, answer: str) -> float | None:
        """A second turn after the answer: how likely is it correct? None when the reply holds no probability."""
        messages = [*task_messages(system_prompt, example), {"role": "assistant", "content": answer},
                    {"role": "user", "content": FOLLOWUP_QUESTION}]
        reply = self.lm.complete(LMRequest.chat(self.model, messages, max_tokens=FOLLOWUP_MAX_TOKENS))
        return None if reply.error else read_probability(reply.text)

    def _one(self, system_prompt: str, example: Example, version: int, split: str) -> RolloutResult:
        if self.store is not None and self.run_id is not None:
            stored = self.store.get_rollout(self.run_id, version, example.id)  # type: ignore[attr-defined]
            if stored is not None:
                return RolloutResult(example, stored.output, stored.score, stored.reason, stored.parsed,
                                     stored.error, stored.id, reused=True, confidence=stored.confidence)
        # The instruction is added here, at rollout time, so the playbook and its exports never carry it.
        inline = self.confidence and self.confidence_mode == "inline"
        prompt = f"{system_prompt}\n\n{CONFIDENCE_INSTRUCTION}" if inline else system_prompt
        request = LMRequest.chat(self.model, task_messages(prompt, example), max_tokens=self.max_tokens,
                                 tools=example.tools)
        reply = self.lm.complete(request)
        # The confidence line is removed before scoring: asking for it never changes what counts as correct.
        if inline:
            stated = split_confidence(reply.text)
        elif self.confidence and not reply.error:
            stated = AnswerWithConfidence(reply.text, self._ask_confidence(prompt, example, reply.text))
        else:
            stated = AnswerWithConfidence(reply.text, None)
        if reply.error:
            score = Score(0.0, f"model error: {reply.error}", None)
        else:
            score = safe_score(self.scorer, stated.answer, example)
        result = RolloutResult(example, stated.answer, score.value, score.reason, score.parsed, reply.error,
                               confidence=stated.confidence)
        if self.store is None or self.run_id is None:
            return result
        row = self.store.add_rollout(RolloutRow(  # type: ignore[attr-defined]
            run_id=self.run_id, version_number=version, example_id=example.id, split=split, output=stated.answer,
            score=score.value, reason=score.reason, parsed=score.parsed, lm_call_key=request.key, error=reply.error,
            confidence=stated.confidence))
        return RolloutResult(example, row.output, row.score, row.reason, row.parsed, row.error, row.id,
                             confidence=row.confidence)
