"""The learning loop: run -> score -> critique -> propose deltas -> validate -> commit a version.

Every step commits to the store, and every step is a pure function of the config, the seed and what is stored,
so running the loop again with the same run id resumes it: stored rollouts are reused, LM calls come from the
cache, and version numbers come out the same.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from promptlearn.config import RunConfig
from promptlearn.data import Example
from promptlearn.errors import BudgetExceeded
from promptlearn.evaluate import EvalResult, summarize
from promptlearn.judging import ExplanatoryJudge, trust_table
from promptlearn.optimize.budget import Meter
from promptlearn.optimize.frontier import pareto_front
from promptlearn.optimize.gate import GateResult, decide, label_collapse
from promptlearn.optimize.result import OptimizeResult
from promptlearn.optimize.rewriter import Rewriter
from promptlearn.optimize.setup import Setup
from promptlearn.optimize.steps import (
    build_candidate,
    citation_credit,
    critique,
    delta_rows,
    error_patterns,
    gate_credit,
)
from promptlearn.playbook import Playbook
from promptlearn.rollouts import RolloutResult
from promptlearn.stats import paired_bootstrap
from promptlearn.store.tables import GateRow, VersionRow

OnEvent = Callable[[str, dict[str, Any]], None]


class StopRun(Exception):
    """A soft budget is spent: finish cleanly with what was learned."""


class Loop:
    def __init__(self, setup: Setup, on_event: OnEvent | None = None):
        self.s = setup
        self.cfg: RunConfig = setup.config
        self.store, self.run_id = setup.store, setup.run_id
        self.emit = on_event or (lambda kind, data: None)
        self.meter: Meter = setup.meter
        self.judge = ExplanatoryJudge(setup.lm("judge"), self.cfg.models.judge, self.cfg.learn.judge)
        self.rewriter = Rewriter(setup.lm("rewriter"), self.cfg.models.rewriter, self.cfg.learn.rewriter_template,
                                 temperature=self.cfg.learn.temperature, mode=self.cfg.learn.mode)
        self.runner = setup.runner()
        self.rollouts_used = 0
        self.next_number = 1
        self.val_scores: dict[int, list[float]] = {}
        self.started = time.monotonic()

    # ---- evaluation with budget accounting ------------------------------------------------------------------
    def _evaluate(self, playbook: Playbook, number: int, examples: Sequence[Example], split: str,
                  reserve: int = 0) -> list[RolloutResult]:
        limit = self.cfg.budget.max_rollouts
        if limit is not None and self.rollouts_used + len(examples) + reserve > limit:
            raise StopRun(f"rollout budget {limit} reached")

        def on_result(result: RolloutResult) -> None:
            self.emit("rollout", {"split": split, "version": number, "correct": result.correct})

        self.emit("eval_start", {"split": split, "version": number, "n": len(examples)})
        results = self.runner.run(playbook.render(), examples, number, split, on_result)
        self.rollouts_used += len(results)
        self.emit("eval_end", {"split": split, "version": number, "accuracy": _mean(results)})
        return results

    def _check_soft_budgets(self) -> None:
        budget = self.cfg.budget
        if budget.max_wall_s is not None and time.monotonic() - self.started > budget.max_wall_s:
            raise StopRun(f"wall-time budget {budget.max_wall_s:.0f}s reached")
        if budget.max_tokens is not None and self.meter.total.tokens > budget.max_tokens:
            raise StopRun(f"token budget {budget.max_tokens} reached")

    # ---- versions -------------------------------------------------------------------------------------------
    def _save_version(self, playbook: Playbook, number: int, parent: int | None, status: str, iteration: int,
                      rows: Sequence[Any] = (), note: str = "") -> None:
        self.store.add_version(VersionRow(
            run_id=self.run_id, number=number, parent_number=parent, iteration=iteration, status=status,
            content_json=playbook.to_json(), content_hash=playbook.content_hash(), note=note), rows)

    # ---- the loop -------------------------------------------------------------------------------------------
    def run(self) -> OptimizeResult:
        seed_pb = Playbook(seed_prompt=self.cfg.system_prompt)
        self._save_version(seed_pb, 0, None, "seed", 0)
        test = len(self.s.splits.test)
        seed_test = self._evaluate(seed_pb, 0, self.s.splits.test.examples, "test", reserve=test)
        seed_val = self._evaluate(seed_pb, 0, self.s.splits.val.examples, "val", reserve=test)
        self.val_scores[0] = [r.score for r in seed_val]
        current, current_no, current_val = seed_pb, 0, seed_val
        stop_reason, rejected_in_row, iteration = "iterations done", 0, 0
        try:
            for iteration in range(1, self.cfg.budget.max_iterations + 1):
                self._check_soft_budgets()
                self.emit("iteration", {"iteration": iteration, "version": current_no})
                accepted = self._iterate(iteration, current, current_no, current_val, reserve=test)
                if accepted is None:
                    rejected_in_row += 1
                    if rejected_in_row >= self.cfg.budget.patience:
                        stop_reason = f"patience: {rejected_in_row} iterations without an accepted change"
                        break
                    continue
                rejected_in_row = 0
                current, current_no, current_val = accepted
        except (StopRun, BudgetExceeded) as exc:
            stop_reason = str(exc)
        try:
            final_test = seed_test if current_no == 0 else self._final_test(current, current_no)
        except (StopRun, BudgetExceeded) as exc:
            # The learned playbook is kept (stored as accepted); only its test score is missing.
            final_test = []
            stop_reason = f"{stop_reason}; final test not evaluated ({exc})"
        return self._finish(seed_pb, current, current_no, seed_test, final_test, seed_val, current_val, iteration,
                            stop_reason)

    def _final_test(self, playbook: Playbook, number: int) -> list[RolloutResult]:
        self.store.set_version_status(self.run_id, number, "accepted")
        return self._evaluate(playbook, number, self.s.splits.test.examples, "test")

    def _iterate(self, iteration: int, current: Playbook, current_no: int, current_val: list[RolloutResult],
                 reserve: int) -> tuple[Playbook, int, list[RolloutResult]] | None:
        batch = self._batch(iteration)
        results = self._evaluate(current, current_no, batch, "train", reserve)
        failures = [r for r in results if not r.correct][: self.cfg.learn.max_failures]
        successes = [r for r in results if r.correct][: self.cfg.learn.successes_shown]
        if not failures:
            self.emit("note", {"text": f"iteration {iteration}: no failures in the batch"})
            return None
        # The code decides correctness; the judge explains. One success is judged too, to measure trust.
        evidence = critique(self.judge, self.store, self.run_id, current.render(), failures + successes[:1])
        fail_ev, ok_ev = evidence[: len(failures)], evidence[len(failures):]
        patterns = error_patterns(results)
        self.emit("critiques", {"n": len(fail_ev)})
        best: tuple[Playbook, int, list[RolloutResult], GateResult] | None = None
        for index in range(self.cfg.learn.candidates):
            outcome = self._candidate(iteration, index, current, current_no, current_val, fail_ev, ok_ev, patterns,
                                      reserve)
            if outcome and (best is None or outcome[3].diff > best[3].diff):
                best = outcome
        if best is None:
            return None
        playbook, number, val, _gate = best
        self.store.set_version_status(self.run_id, number, "accepted")
        self.emit("accepted", {"version": number, "bullets": len(playbook.bullets)})
        return citation_credit(playbook, results), number, val

    def _candidate(self, iteration: int, index: int, current: Playbook, current_no: int,
                   current_val: list[RolloutResult], failures: list[Any], successes: list[Any], patterns: list[str],
                   reserve: int) -> tuple[Playbook, int, list[RolloutResult], GateResult] | None:
        number = self.next_number
        self.next_number += 1
        seed = self.cfg.seed * 100_003 + number
        proposal = self.rewriter.propose(current, failures, successes, seed, patterns)
        if not proposal.ok:
            self._save_version(current, number, current_no, "failed", iteration, note=proposal.error or "")
            self.emit("proposal_failed", {"version": number, "error": proposal.error})
            return None
        candidate = build_candidate(current, proposal, self.cfg.learn, number)
        self._save_version(candidate.playbook, number, current_no, "candidate", iteration,
                           delta_rows(self.run_id, number, candidate), "; ".join(candidate.notes))
        if not candidate.changed and proposal.prompt is None:
            self.store.set_version_status(self.run_id, number, "rejected", note="no delta applied")
            reasons = "; ".join(reason for _d, applied, reason in candidate.outcomes if not applied)
            self.emit("note", {"text": f"candidate v{number}: no delta applied ({reasons or 'empty proposal'})"})
            return None
        val = self._evaluate(candidate.playbook, number, self.s.splits.val.examples, "val", reserve)
        self.val_scores[number] = [r.score for r in val]
        gate = self._gate(current_val, val, number)
        if gate.close and self.cfg.gate.extra_examples:
            gate = self._gate_with_more(current, current_no, candidate.playbook, number, current_val, val, reserve)
        self._record_gate(number, current_no, gate)
        self.emit("gate", {"version": number, "accepted": gate.accepted, "reason": gate.reason, "diff": gate.diff})
        if not gate.accepted:
            self.store.set_version_status(self.run_id, number, "rejected", {"val": _mean(val)}, gate.reason)
            return None
        credited = gate_credit(candidate, gate.wins, gate.losses)
        self.store.set_version_status(self.run_id, number, "candidate", {"val": _mean(val)})
        return credited, number, val, gate

    def _gate_with_more(self, current: Playbook, current_no: int, playbook: Playbook, number: int,
                        base: list[RolloutResult], cand: list[RolloutResult], reserve: int) -> GateResult:
        """A close call (positive, not yet significant): score both on fresh held-out examples, decide on all."""
        pool = self.s.reserve()
        extra = random.Random(self.cfg.seed * 31 + number).sample(pool, min(len(pool), self.cfg.gate.extra_examples))
        if not extra:
            return self._gate(base, cand, number)
        more_base = self._evaluate(current, current_no, extra, "val_extra", reserve)
        more_cand = self._evaluate(playbook, number, extra, "val_extra", reserve)
        self.emit("note", {"text": f"close call on v{number}: drew {len(extra)} more held-out examples"})
        return self._gate(base + more_base, cand + more_cand, number)

    def _gate(self, base: list[RolloutResult], cand: list[RolloutResult], number: int) -> GateResult:
        cfg = self.cfg.gate
        collapse = label_collapse([r.parsed for r in cand], [r.example.target for r in cand], cfg.max_label_share)
        result = decide([r.score for r in base], [r.score for r in cand], method=cfg.method,
                        confidence=cfg.confidence, min_gain=cfg.min_gain, seed=self.cfg.seed + number)
        if collapse and cfg.method != "none":
            return GateResult(False, result.diff, result.low, result.high, result.p_value, result.n, result.wins,
                              result.losses, f"rejected: {collapse}")
        return result

    def _record_gate(self, number: int, baseline: int, gate: GateResult) -> None:
        if any(g.version_number == number for g in self.store.gate_decisions(self.run_id)):
            return  # resumed run: already decided, identically
        self.store.add_gate_decision(GateRow(
            run_id=self.run_id, version_number=number, baseline_number=baseline, n=gate.n, diff=gate.diff,
            low=gate.low, high=gate.high, p_value=gate.p_value, accepted=gate.accepted, reason=gate.reason))

    def _batch(self, iteration: int) -> list[Example]:
        train = list(self.s.splits.train.examples)
        rng = random.Random(self.cfg.seed * 7_919 + iteration)
        return rng.sample(train, min(self.cfg.learn.batch_size, len(train)))

    def _finish(self, seed_pb: Playbook, final: Playbook, final_no: int, seed_test: list[RolloutResult],
                final_test: list[RolloutResult], seed_val: list[RolloutResult], final_val: list[RolloutResult],
                iterations: int, stop_reason: str) -> OptimizeResult:
        paired = len(seed_test) == len(final_test)
        diff = paired_bootstrap([r.score for r in seed_test] if paired else [],
                                [r.score for r in final_test] if paired else [])
        result = OptimizeResult(
            run_id=self.run_id, stop_reason=stop_reason, seed=seed_pb, final=final, final_version=final_no,
            seed_test=summarize(seed_test, self.run_id), final_test=summarize(final_test, self.run_id),
            seed_val=_mean(seed_val), final_val=_mean(final_val), test_diff=diff, iterations=iterations,
            rollouts=self.rollouts_used, spend=self.meter.as_dict(), frontier=pareto_front(self.val_scores),
            trust=trust_table(self.store.critiques(self.run_id)), faults=self.s.faults())
        self.store.finish_run(self.run_id, "completed", json.loads(result.summary_json()))
        self.emit("done", {"run_id": self.run_id})
        return result


def _mean(results: Sequence[RolloutResult]) -> float:
    return sum(r.score for r in results) / len(results) if results else 0.0


__all__ = ["Loop", "EvalResult"]
