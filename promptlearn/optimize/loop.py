"""The learning loop: run -> score -> critique -> propose deltas -> validate -> commit a version.

Every step commits to the store, and every step is a pure function of the config, the seed and what is stored,
so running the loop again with the same run id resumes it: stored rollouts are reused, LM calls come from the
cache, and version numbers come out the same.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from promptlearn.config import RunConfig
from promptlearn.data import Example
from promptlearn.errors import BudgetExceeded
from promptlearn.evaluate import EvalResult, summarize
from promptlearn.judging import ExplanatoryJudge, trust_table
from promptlearn.optimize import guards
from promptlearn.optimize.budget import Meter, RolloutBudget, StopRun
from promptlearn.optimize.events import (
    EvalFinished,
    EvalStarted,
    Events,
    GateDecided,
    IterationStarted,
    Note,
    OnEvent,
    ReviewWaiting,
    RolloutScored,
    RunFinished,
    Screened,
)
from promptlearn.optimize.expiry import lighter
from promptlearn.optimize.frontier import pareto_front
from promptlearn.optimize.gate import (
    GateResult,
    calibration_gate,
    could_pass,
    decide,
    label_collapse,
    label_drift,
    non_inferior,
    reject,
    spent_confidence,
)
from promptlearn.optimize.objectives import Objectives, limit_reason, objective_front, weighted
from promptlearn.optimize.oversight import Oversight, ReviewPending
from promptlearn.optimize.propose import Proposed, Proposer
from promptlearn.optimize.result import OptimizeResult, seed_to_final_difference
from promptlearn.optimize.rewriter import Rewriter
from promptlearn.optimize.screen import compare, screening_set
from promptlearn.optimize.setup import Setup
from promptlearn.optimize.steps import citation_credit, gate_credit
from promptlearn.optimize.versions import Current, Validated
from promptlearn.playbook import Playbook
from promptlearn.quality import difficulty
from promptlearn.quality.credit import Ablation
from promptlearn.quality.hacking import screen_candidate
from promptlearn.quality.summary import quality_fields
from promptlearn.rollouts import RolloutResult, RolloutRunner
from promptlearn.seeding import rng, stream_seed
from promptlearn.stats import mean

# Fewer extra examples than this cannot turn a close call (and would cost two evaluations for nothing).
MIN_EXTRA_EXAMPLES = 10


class Loop:
    def __init__(self, setup: Setup, events: Events | None = None):
        self.setup = setup
        self.cfg: RunConfig = setup.config
        self.store, self.run_id = setup.store, setup.run_id
        self.emit = events or Events()  # typed events to every subscriber (optimize/events.py)
        self.meter: Meter = setup.meter
        self.judge = ExplanatoryJudge(setup.lm("judge"), self.cfg.models.judge, self.cfg.learn.judge,
                                      max_tokens=self.cfg.models.judge_max_tokens)
        self.rewriter = Rewriter(setup.lm("rewriter"), self.cfg.models.rewriter, self.cfg.learn.rewriter_template,
                                 max_tokens=self.cfg.models.rewriter_max_tokens,
                                 temperature=self.cfg.learn.temperature, mode=self.cfg.learn.mode)
        self.runner = setup.runner()
        self.proposer = Proposer(self.cfg, self.store, self.run_id, self.judge, self.rewriter, setup.splits.train,
                                 self._next_number, lambda: self.ablation.measured, self.emit,
                                 show_check=bool(getattr(setup.scorer, "explains_failures", False)))
        self.validated = 0  # candidates validated on val so far: alpha spending counts them
        self.rollouts = RolloutBudget(self.cfg.budget.max_rollouts, self.cfg.budget.max_learning_rollouts)
        self.next_number = 1
        self.val_scores: dict[int, list[float]] = {}
        self.objectives: dict[int, Objectives] = {}
        self.started = time.monotonic()
        # Charged to the rollout budget like any evaluation, keeping the final test affordable.
        evaluate_ood = functools.partial(self._evaluate, held_for_test=len(setup.splits.test))
        self.cliffs = guards.cliff_check(self.cfg, setup, self.runner, evaluate_ood, self.emit.untyped)
        self.auditor = guards.auditor(self.cfg, setup, self.judge, self.emit.untyped)
        self.tally = difficulty.Tally()  # per train example, solved or not under each version (quality/difficulty.py)
        self.ablation = Ablation(self.store, self.run_id, self.cfg, self._evaluate,
                                 lambda: self.rollouts.room("val", 0),
                                 lambda text: self.emit(Note(text)), self._check_soft_budgets)
        self.oversight = Oversight(self.cfg, self.store, self.run_id, self.emit, self._next_number, self._validate,
                                   lambda: self.ablation.measured)

    # ---- evaluation with budget accounting ------------------------------------------------------------------
    def _evaluate(self, playbook: Playbook, number: int, examples: Sequence[Example], split: str,
                  held_for_test: int = 0, runner: RolloutRunner | None = None) -> list[RolloutResult]:
        """`held_for_test`: rollouts the budget must still have left afterwards, for the final test evaluation."""
        self.rollouts.check(split, len(examples), held_for_test)

        def on_result(result: RolloutResult) -> None:
            self.emit(RolloutScored(split, number, result.correct))

        self.emit(EvalStarted(split, number, len(examples)))
        results = (runner or self.runner).run(playbook.render(), examples, number, split, on_result)
        self.rollouts.charge(split, number, [r.example.id for r in results])
        self.emit(EvalFinished(split, number, _mean(results)))
        return results

    def _check_soft_budgets(self) -> None:
        budget = self.cfg.budget
        if budget.max_wall_s is not None and time.monotonic() - self.started > budget.max_wall_s:
            raise StopRun(f"wall-time budget {budget.max_wall_s:.0f}s reached")
        if budget.max_tokens is not None and self.meter.total.tokens > budget.max_tokens:
            raise StopRun(f"token budget {budget.max_tokens} reached")

    def _next_number(self) -> int:
        number = self.next_number
        self.next_number += 1
        return number

    # ---- the loop -------------------------------------------------------------------------------------------
    def run(self) -> OptimizeResult:
        seed_pb = Playbook(seed_prompt=self.cfg.system_prompt)
        self.store.commit_version(self.run_id, 0, seed_pb, status="seed")
        test = len(self.setup.splits.test)
        seed_test = self._evaluate(seed_pb, 0, self.setup.splits.test.examples, "test", held_for_test=test)
        seed_val = self._evaluate(seed_pb, 0, self.setup.splits.val.examples, "val", held_for_test=test)
        self.val_scores[0] = [r.score for r in seed_val]
        self._measure(0, seed_val)
        current = Current(seed_pb, 0, seed_val)
        stop_reason, rejected_in_row, iteration = "iterations done", 0, 0
        try:
            if self.cliffs:
                self.cliffs.baseline(seed_pb)
            for iteration in range(1, self.cfg.budget.max_iterations + 1):
                self._check_soft_budgets()
                self.emit(IterationStarted(iteration, current.number))
                current = self.oversight.expire(iteration, current, test) or current
                accepted = self._iterate(iteration, current, held_for_test=test)
                if accepted is None:
                    rejected_in_row += 1
                    if rejected_in_row >= self.cfg.budget.patience:
                        stop_reason = f"patience: {rejected_in_row} iterations without an accepted change"
                        break
                    continue
                rejected_in_row, previous, current = 0, current, accepted
                guards.after_accept(self.cliffs, self.auditor, previous, current)
                self._ablate("accepted", current, held_for_test=test)
        except (StopRun, BudgetExceeded) as exc:
            stop_reason = str(exc)
            self._close_undecided(stop_reason)
        except ReviewPending as exc:  # no final test yet: the run goes on after the decision (optimize --resume)
            self.emit(ReviewWaiting(exc.version, self.run_id))
            return self._finish(seed_pb, current, seed_test, [], seed_val, iteration, str(exc), status="review")
        try:
            final_test = seed_test if current.number == 0 else self._final_test(current)
        except (StopRun, BudgetExceeded) as exc:
            # The learned playbook is kept (stored as accepted); only its test score is missing.
            final_test = []
            stop_reason = f"{stop_reason}; final test not evaluated ({exc})"
        self._ablate("final", current)
        return self._finish(seed_pb, current, seed_test, final_test, seed_val, iteration, stop_reason)

    def _close_undecided(self, reason: str) -> None:
        """A budget that runs out mid-iteration ends the run: its candidates not yet decided are rejected with
        that reason, never left `candidate`."""
        for version in self.store.versions(self.run_id):
            if version.status == "candidate":
                self.store.record_rejection(self.run_id, version.number, f"not decided: {reason}")

    def _final_test(self, final: Current) -> list[RolloutResult]:
        self.store.accept_version(self.run_id, final.number)
        return self._evaluate(final.playbook, final.number, self.setup.splits.test.examples, "test")

    def _iterate(self, iteration: int, current: Current, held_for_test: int) -> Current | None:
        """propose -> screen -> validate -> accept, on one training batch: the new current version, if any."""
        batch = self._batch(iteration)
        results = self._evaluate(current.playbook, current.number, batch, "train", held_for_test)
        self.tally.add(current.number, results)
        self.oversight.observe(iteration, current.playbook, results)
        # Too-hard examples (never solved) are down-weighted: the rewriter learns from failures it can fix.
        failures = difficulty.select_failures(results, self.tally, self.cfg.quality, self.cfg.learn.max_failures,
                                              stream_seed(self.cfg.seed, "failures", iteration))
        if not failures:
            self.emit(Note(f"iteration {iteration}: no failures in the batch"))
            return None
        proposed = self.proposer.propose(iteration, current.playbook, current.number, results, failures)
        ranked = self._screen_all(iteration, current, proposed, results, failures, held_for_test)
        best: Validated | None = None
        top = self.cfg.learn.validate_top
        for item in ranked[:top]:
            outcome = self._validate(item, current, held_for_test)
            if outcome and (best is None or self._rank(outcome) > self._rank(best)):
                best = outcome
        chosen = ", ".join(f"v{item.number}" for item in ranked[:top])
        for item in ranked[top:]:  # passed screening but ranked below: recorded as such, never left "candidate"
            screening = item.screening.describe() if item.screening else "screening"
            self.store.record_rejection(self.run_id, item.number,
                                        f"passed {screening}; not validated ({chosen} ranked higher)")
        taken = self.oversight.accept(best, iteration, current, held_for_test) if best else None
        if taken is None:
            return None
        accepted = replace(taken, playbook=citation_credit(taken.playbook, results))
        self.oversight.observe(iteration, accepted.playbook)
        return accepted

    def _rank(self, outcome: Validated) -> float:
        """Which of the candidates that passed the gate is taken: the largest gain, or with `objective.weights`
        the best weighted objectives."""
        weights = self.cfg.objective.weights
        return weighted(self.objectives[outcome.number].as_dict(), weights) if weights else outcome.gate.diff

    def _screen_all(self, iteration: int, current: Current, proposed: list[Proposed],
                    results: list[RolloutResult], failures: list[RolloutResult], held_for_test: int) -> list[Proposed]:
        """Screen each candidate on the batch (learn.screen); the two best that pass are merged and screened too.
        Returns the ones worth a validation pass, best first."""
        proposed = [p for p in proposed if not self._blocked(current.playbook, p)]
        if not self.cfg.learn.screen or self.cfg.gate.method == "none":  # ungated recipes take what they propose
            return proposed
        base = screening_set(results, failures, self.cfg.learn.screen_successes)
        passed = [p for p in proposed if self._screen(p, base, held_for_test)]
        first = self.cfg.learn.examples_first
        passed.sort(key=lambda p: (first and p.origin != "examples", -(p.screening.net if p.screening else 0),
                                   p.candidate.playbook.bullet_tokens()))
        if self.cfg.learn.merge and len(passed) >= 2:
            merged = self.proposer.merge(iteration, current.playbook, current.number, passed[0], passed[1])
            if merged and not self._blocked(current.playbook, merged) and self._screen(merged, base, held_for_test):
                passed.insert(0 if merged.screening and passed[0].screening and
                              merged.screening.net > passed[0].screening.net else 2, merged)
        return passed

    def _blocked(self, current: Playbook, item: Proposed) -> bool:
        """Grader-mention bullets are flagged (and, when asked, rejected) before any rollout is spent on them."""
        blocked = screen_candidate(self.store, self.run_id, item.number, current, item.candidate.playbook,
                                   self.emit.untyped, self.cfg.quality.block_grader_mentions)
        if blocked:
            self.store.record_rejection(self.run_id, item.number, blocked)
            self.emit(Note(f"candidate v{item.number}: {blocked}"))
        return bool(blocked)

    def _screen(self, item: Proposed, screen_on: list[RolloutResult], held_for_test: int) -> bool:
        base = [r for r in screen_on if r.example.id not in item.shown_ids]
        cand = self._evaluate(item.candidate.playbook, item.number, [r.example for r in base], "train", held_for_test)
        item.screening = compare(base, cand)
        self.emit(Screened(item.number, item.origin, item.screening.fixed, item.screening.broken))
        min_net = 0 if self.cfg.learn.examples_first and item.origin == "examples" else self.cfg.learn.screen_min_net
        if item.screening.passed(min_net):
            return True
        reason = f"rejected: {item.screening.describe()} (needs net >= {min_net})"
        self.store.record_rejection(self.run_id, item.number, reason)
        self.proposer.remember(item.candidate, reason)
        return False

    def _validate(self, item: Proposed, current: Current, held_for_test: int) -> Validated | None:
        candidate, number = item.candidate, item.number
        val = self._evaluate(candidate.playbook, number, self.setup.splits.val.examples, "val", held_for_test)
        self.val_scores[number] = [r.score for r in val]
        self.validated += 1
        light = self.cfg.gate.noninferiority_margin is not None and (
            item.origin == "expiry" or lighter(current.playbook, candidate))
        gate = self._gate(current.val, val, number, light)
        if gate.close and self.cfg.gate.extra_examples:
            gate = self._gate_with_more(current, candidate.playbook, number, val, gate, held_for_test)
        if not light and self.cfg.gate.alpha_spending and not could_pass(gate, self._level()):
            self.validated -= 1  # it could not have passed: the next candidate keeps this one's level
        if gate.accepted and self.cliffs and self.cfg.quality.ood_block:
            cliff = self.cliffs.block_reason(candidate.playbook, number)
            gate = reject(gate, cliff) if cliff else gate
        over = limit_reason(self._measure(number, val), self.cfg.objective)
        gate = reject(gate, over) if gate.accepted and over else gate
        self.store.record_gate_decision(self.run_id, number, current.number, gate, _mean(val))
        self.emit(GateDecided(number, gate.accepted, gate.reason, gate.diff))
        if not gate.accepted:
            self.proposer.remember(candidate, gate.reason)
            return None
        return Validated(gate_credit(candidate, gate.wins, gate.losses), number, val, gate)

    def _gate_with_more(self, current: Current, playbook: Playbook, number: int, cand: list[RolloutResult],
                        on_val: GateResult, held_for_test: int) -> GateResult:
        """A close call (positive, not yet significant): score both on fresh held-out examples, decide on all.
        As many as the rollout budgets leave room for (both versions scoring them), so a tight budget still gets
        a smaller extension instead of stopping the run undecided. With no room, the decision on val (`on_val`)
        stands."""
        pool = self.setup.unsplit_examples()
        room = self.rollouts.room("val_extra", held_for_test)
        n = min(len(pool), self.cfg.gate.extra_examples, room // 2 if room is not None else len(pool))
        extra = rng(self.cfg.seed, "extra_val", number).sample(pool, n) if n >= MIN_EXTRA_EXAMPLES else []
        if not extra:
            return on_val
        more_base = self._evaluate(current.playbook, current.number, extra, "val_extra", held_for_test)
        more_cand = self._evaluate(playbook, number, extra, "val_extra", held_for_test)
        self.emit(Note(f"close call on v{number}: drew {len(extra)} more held-out examples"))
        return self._gate(current.val + more_base, cand + more_cand, number)

    def _gate(self, base: list[RolloutResult], cand: list[RolloutResult], number: int,
              light: bool = False) -> GateResult:
        """`light`: a removal, an expiry or a cheaper playbook, tested for non-inferiority (optimize/gate.py)."""
        cfg = self.cfg.gate
        targets = [r.example.target for r in cand]
        collapse = label_collapse([r.parsed for r in cand], targets, cfg.max_label_share)
        confidence = self._level()
        seed = stream_seed(self.cfg.seed, "gate", number)
        if light and cfg.noninferiority_margin is not None:
            result = non_inferior([r.score for r in base], [r.score for r in cand], method=cfg.method,
                                  confidence=confidence, margin=cfg.noninferiority_margin, seed=seed)
        else:
            result = decide([r.score for r in base], [r.score for r in cand], method=cfg.method,
                            confidence=confidence, min_gain=cfg.min_gain, seed=seed)
        drift = label_drift([r.parsed for r in base], [r.parsed for r in cand], targets, cfg.confidence,
                            seed) if cfg.drift_check and result.accepted else None
        if (collapse or drift) and cfg.method != "none":
            return reject(result, f"rejected: {collapse or drift}")
        if self.cfg.quality.calibration_gate:
            return calibration_gate(result, base, cand, cfg.confidence, seed)
        return result

    def _level(self) -> float:
        """The gate's confidence for the candidate being validated, after alpha spending."""
        cfg = self.cfg.gate
        return spent_confidence(cfg.confidence, max(1, self.validated)) if cfg.alpha_spending else cfg.confidence

    def _batch(self, iteration: int) -> list[Example]:
        train = list(self.setup.splits.train.examples)
        if self.cfg.quality.curriculum:
            return difficulty.curriculum_batch(train, self.tally, iteration, self.cfg.budget.max_iterations,
                                               self.cfg.learn.batch_size, self.cfg.seed)
        return rng(self.cfg.seed, "batch", iteration).sample(train, min(self.cfg.learn.batch_size, len(train)))

    def _ablate(self, when: str, version: Current, held_for_test: int = 0) -> None:
        """Per-bullet credit by ablation on val (quality/credit.py), when `quality.ablation` asks for it now.
        A budget running out skips or stops it with a note in the summary; the run goes on."""
        if self.cfg.quality.ablation != when:
            return
        try:
            self.ablation.run(version.playbook, version.number, version.val, self.setup.splits.val.examples,
                              held_for_test)
        except (StopRun, BudgetExceeded) as exc:
            self.ablation.stopped(exc)

    def _measure(self, number: int, val: list[RolloutResult]) -> Objectives:
        """Accuracy, prompt tokens, cost and latency per val rollout of version `number`, stored with it."""
        usage = self.store.rollout_usage(self.run_id, number, "val")
        objectives = self.objectives[number] = Objectives.from_usage(_mean(val), usage)
        self.store.record_scores(self.run_id, number, {"objectives": objectives.as_dict()})
        return objectives

    def _objective_summary(self) -> dict[str, Any]:
        points = {n: o.as_dict() for n, o in sorted(self.objectives.items())}
        return {"versions": {str(n): p for n, p in points.items()}, "frontier": objective_front(points)}

    def _learning(self) -> dict[str, Any]:
        """Difficulty per train example (stored as records) and the ablation log, for the run summary."""
        hist = difficulty.record(self.store, self.run_id, self.setup.splits.train.examples, self.cfg.quality.hard_after)
        return {"difficulty": hist, "ablation": self.ablation.summary()}

    def _finish(self, seed_pb: Playbook, final: Current, seed_test: list[RolloutResult],
                final_test: list[RolloutResult], seed_val: list[RolloutResult], iterations: int, stop_reason: str,
                status: str = "completed") -> OptimizeResult:
        diff = seed_to_final_difference([r.score for r in seed_test], [r.score for r in final_test])
        final_no, final_val = final.number, final.val
        result = OptimizeResult(
            run_id=self.run_id, stop_reason=stop_reason, seed=seed_pb, final=final.playbook, final_version=final_no,
            seed_test=summarize(seed_test, self.run_id), final_test=summarize(final_test, self.run_id),
            seed_val=_mean(seed_val), final_val=_mean(final_val), test_diff=diff, iterations=iterations,
            rollouts=self.rollouts.used, spend=self.meter.as_dict(), frontier=pareto_front(self.val_scores),
            trust=trust_table(self.store.critiques(self.run_id)), faults=self.setup.faults(),
            learning=self._learning(), objectives=self._objective_summary(),
            **self._quality(final_no, seed_test, final_test, seed_val, final_val))
        self.store.finish_run(self.run_id, status, json.loads(result.summary_json()))
        self.emit(RunFinished(self.run_id))
        return result

    def _quality(self, final_no: int, seed_test: list[RolloutResult], final_test: list[RolloutResult],
                 seed_val: list[RolloutResult], final_val: list[RolloutResult]) -> dict[str, Any]:
        measured = {"seed_test": (0, "test", seed_test), "seed_val": (0, "val", seed_val),
                    "final_test": (final_no, "test", final_test), "final_val": (final_no, "val", final_val)}
        return quality_fields(self.cfg, self.store, self.run_id, final_no, measured)


def _mean(results: Sequence[RolloutResult]) -> float:
    return mean([r.score for r in results])


__all__ = ["Loop", "EvalResult", "OnEvent"]
