"""Scoring for `promptlearn compare`: every arm through one HF backend and promptlearn's `evaluate`.

Same weights, chat template, greedy decoding, reply length, scorer and examples for every arm, so a difference
between arms is the prompt or the adapter, never the inference stack. Replies are generated in batches first
(`HFLM.prefetch`), then `evaluate` asks for them one by one through the usual seam and stores every rollout.

With confidence elicited, `CONFIDENCE_INSTRUCTION` is appended to the system prompt and the confidence line is
split off before the scorer sees the reply, so asking never changes what counts as correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from promptlearn.data import Dataset, Example, Score, Scorer
from promptlearn.evaluate import EvalResult, evaluate
from promptlearn.lm import LMRequest
from promptlearn.lm.hf import HFLM
from promptlearn.quality.calibration import (
    CONFIDENCE_INSTRUCTION,
    split_confidence,
)
from promptlearn.rollouts import task_messages
from promptlearn.stats import PairedResult, brier, ece, paired_bootstrap
from promptlearn.store import Store


class WithoutConfidence:
    """A scorer that first removes the `Confidence: p` line, so the number never counts as the answer."""

    def __init__(self, inner: Scorer):
        self.inner = inner
        self.name = inner.name

    def __call__(self, output: str, example: Example) -> Score:
        return self.inner(split_confidence(output).answer, example)


@dataclass(frozen=True)
class Scored:
    model: str
    result: EvalResult
    brier: float | None = None
    ece: float | None = None
    stated: int = 0  # replies that stated a usable confidence

    def scores(self) -> dict[str, float]:
        return {r.example.id: r.score for r in self.result.results}


def calibration(result: EvalResult) -> tuple[float | None, float | None, int]:
    """(Brier, ECE, how many stated) over the replies that stated a confidence; None when none did."""
    pairs = [(c, r.correct) for r in result.results if (c := split_confidence(r.output).confidence) is not None]
    if not pairs:
        return None, None, 0
    confidences, correct = [c for c, _ in pairs], [ok for _, ok in pairs]
    return brier(confidences, correct), ece(confidences, correct), len(pairs)


class HFScoring:
    """Scores (model string, system prompt) pairs on a dataset; everything is stored and cached in `store`."""

    def __init__(self, store: Store, max_tokens: int, confidence: bool, batch_size: int = 8):
        self.store, self.max_tokens, self.confidence = store, max_tokens, confidence
        self.lm = HFLM(batch_size=batch_size)

    def system(self, prompt: str) -> str:
        return f"{prompt.rstrip()}\n\n{CONFIDENCE_INSTRUCTION}" if self.confidence else prompt

    def score(self, model: str, prompt: str, data: Dataset, scorer: Scorer, name: str) -> Scored:
        system = self.system(prompt)
        requests = [LMRequest.chat(model, task_messages(system, ex), max_tokens=self.max_tokens) for ex in data]
        # Only what the store has not answered before: a rerun scores from the cache without loading a model.
        self.lm.prefetch(r for r in requests if self.store.cached_completion(r.key) is None)
        used = WithoutConfidence(scorer) if self.confidence else scorer
        result = evaluate(data, system, model, used, lm=self.lm, store=self.store, name=name,
                          max_tokens=self.max_tokens)
        brier, ece, stated = calibration(result) if self.confidence else (None, None, 0)
        return Scored(model, result, brier, ece, stated)


def paired(before: Scored, after: Scored) -> PairedResult:
    """after - before over the examples both scored (the same ids), 95% paired bootstrap."""
    a, b = before.scores(), after.scores()
    keys = sorted(k for k in b if k in a)
    return paired_bootstrap([a[k] for k in keys], [b[k] for k in keys])


def is_cliff(shift: PairedResult) -> bool:
    """A capability cliff: the whole 95% interval of the out-of-domain change lies below zero."""
    return shift.n > 0 and shift.high < 0


def diff_dict(d: PairedResult) -> dict[str, Any]:
    return d.as_dict()


def acc_dict(s: Scored) -> dict[str, Any]:
    return s.result.accuracy.as_dict("accuracy")
