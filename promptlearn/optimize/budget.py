"""Budgets: count what each role spends, stop cleanly when a limit is reached, and estimate a run up front."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from promptlearn.config import RunConfig
from promptlearn.errors import BudgetExceeded
from promptlearn.lm.base import LM, Completion, LMRequest


class StopRun(Exception):
    """A soft budget is spent: finish cleanly with what was learned."""


class RolloutBudget:
    """Task-model calls charged to `budget.max_rollouts` (every split) and `budget.max_learning_rollouts` (every
    split but test). A version scored again on an example it was already scored on (screened, then batched) reuses
    the stored rollout: it costs nothing, so it is counted once, the same way in a run and in its resume."""

    def __init__(self, limit: int | None, learning_limit: int | None) -> None:
        self.limit, self.learning_limit = limit, learning_limit
        self.used = self.learning_used = 0
        self.scored: set[tuple[int, str]] = set()  # (version, example id) pairs already scored in this run

    def check(self, split: str, n: int, held_for_test: int) -> None:
        """Raise StopRun unless `n` more rollouts on `split` fit, with `held_for_test` left for the final test."""
        if self.limit is not None and self.used + n + held_for_test > self.limit:
            raise StopRun(f"rollout budget {self.limit} reached")
        if self.learning_limit is not None and split != "test" and self.learning_used + n > self.learning_limit:
            raise StopRun(f"learning rollout budget {self.learning_limit} reached")

    def charge(self, split: str, version: int, example_ids: list[str]) -> None:
        fresh = {(version, example_id) for example_id in example_ids} - self.scored
        self.scored |= fresh
        self.used += len(fresh)
        self.learning_used += len(fresh) if split != "test" else 0

    def room(self, split: str, held_for_test: int) -> int | None:
        """The most rollouts on `split` that `check` lets through now; None without a limit."""
        rooms = [self.limit - self.used - held_for_test] if self.limit is not None else []
        if self.learning_limit is not None and split != "test":
            rooms.append(self.learning_limit - self.learning_used)
        return max(0, min(rooms)) if rooms else None


@dataclass
class Spend:
    calls: int = 0
    fresh_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    lm_seconds: float = 0.0

    def add(self, reply: Completion) -> None:
        self.calls += 1
        self.fresh_calls += int(not reply.cached)
        self.tokens += reply.usage.total
        self.cost_usd += reply.cost_usd
        self.lm_seconds += 0.0 if reply.cached else reply.latency_s


@dataclass
class Meter:
    """Shared by the metered LMs of one run (and their threads): spend per role, and the hard cost cap."""

    max_cost_usd: float | None = None
    by_role: dict[str, Spend] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    reserved_usd: float = 0.0  # held for calls in flight
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def spend(self, role: str) -> Spend:
        return self.by_role.setdefault(role, Spend())

    @property
    def total(self) -> Spend:
        out = Spend()
        for s in self.by_role.values():
            out.calls += s.calls
            out.fresh_calls += s.fresh_calls
            out.tokens += s.tokens
            out.cost_usd += s.cost_usd
            out.lm_seconds += s.lm_seconds
        return out

    def reserve(self) -> float:
        """Before a call: hold one average call's cost, so that calls in flight on other threads count as spent,
        or refuse the call when the spend, what is held and one more call would pass the cap. (Until a call has
        finished the average is unknown and nothing is held.)"""
        if self.max_cost_usd is None:
            return 0.0
        with self._lock:
            total = self.total
            average = total.cost_usd / total.calls if total.calls else 0.0
            if total.cost_usd + self.reserved_usd + average > self.max_cost_usd:
                raise BudgetExceeded(f"cost cap ${self.max_cost_usd:.4f} reached (spent ${total.cost_usd:.4f})")
            self.reserved_usd += average
            return average

    def settle(self, role: str, held: float, reply: Completion | None) -> None:
        """After a call: release what was held and count what the call really cost."""
        with self._lock:
            self.reserved_usd -= held
            if reply is not None:
                self.spend(role).add(reply)

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {role: vars(s).copy() for role, s in self.by_role.items()}


class MeteredLM:
    def __init__(self, inner: LM, meter: Meter, role: str):
        self.inner, self.meter, self.role = inner, meter, role

    def complete(self, request: LMRequest) -> Completion:
        held = self.meter.reserve()
        reply = None
        try:
            reply = self.inner.complete(request)
        finally:
            self.meter.settle(self.role, held, reply)
        return reply


@dataclass(frozen=True)
class Estimate:
    task_calls: int
    judge_calls: int
    rewriter_calls: int
    tokens: int
    cost_usd: float | None

    def lines(self) -> list[str]:
        cost = "unknown (no price for these models)" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        return [f"task-model rollouts: up to {self.task_calls}", f"judge calls: up to {self.judge_calls}",
                f"rewriter calls: up to {self.rewriter_calls}", f"tokens: about {self.tokens:,}", f"cost: {cost}"]


def estimate(config: RunConfig, n_val: int, n_test: int, prompt_tokens: int, input_tokens: int) -> Estimate:
    """An upper bound for a dry run: every iteration fails enough to critique, every candidate is validated."""
    it, learn = config.budget.max_iterations, config.learn
    # Every validated candidate may be a close call: the extra examples, scored under both versions.
    learning = n_val + it * (learn.batch_size + learn.candidates * n_val + 2 * config.gate.extra_examples)
    if config.budget.max_learning_rollouts is not None:
        learning = min(learning, config.budget.max_learning_rollouts)
    task = 2 * n_test + learning
    if config.budget.max_rollouts is not None:
        task = min(task, config.budget.max_rollouts)
    judge = it * (learn.max_failures + 1)
    rewriter = it * learn.candidates * 2  # one retry each at most
    quality = config.quality
    if quality.ood_path:  # the seed and every accepted version; every gated candidate under ood_block
        task += quality.ood_n * (1 + it * (learn.candidates if quality.ood_block else 1))
    if quality.audit_judge:  # the audit judge and the first judge, on each accepted version's sample of gains
        judge += it * 2 * quality.audit_sample
    per_task = prompt_tokens + input_tokens + config.models.task_max_tokens
    per_judge = prompt_tokens + 2 * input_tokens + 500
    per_rewrite = prompt_tokens + learn.max_failures * (2 * input_tokens + 120) + 400
    tokens = task * per_task + judge * per_judge + rewriter * per_rewrite
    return Estimate(task, judge, rewriter, tokens, _price(config, task * per_task, (judge + rewriter) * per_judge))


def _price(config: RunConfig, task_tokens: int, other_tokens: int) -> float | None:
    models = config.models
    if all(m.startswith("local/") for m in (models.task, models.judge, models.rewriter)):
        return 0.0
    try:
        from promptlearn.lm.litellm_lm import price_per_token

        return task_tokens * price_per_token(models.task) + other_tokens * price_per_token(models.judge)
    except Exception:  # unknown model price
        return None
