"""Online learning from production traces: new traces arrive in batches; each batch can update the playbook through
the gate, with no gold labels.

For one batch:
1. the recorded outputs the users rated are stored as rollouts (version -1, split `recorded`); the rubric judge
   rates each too, beside the user's verdict: the judge-trust figure is how often the two agree;
2. the outputs users marked bad are critiqued with their feedback as evidence (judges/feedback.j2), and the
   rewriter proposes deltas from those critiques;
3. the current playbook and each candidate answer the batch plus a fixed replay set (the stream's earliest traces,
   already learned from); a new output is scored against the trace's correction where there is one, else by the
   rubric judge (traces/scoring.py), never by the thumbs given to the old output;
4. the gate (optimize/gate.py's paired test) decides, and a candidate that breaks more replayed traces than
   `max_broken` is rejected: an update cannot break what worked.

The state lives in the store (an `online` run: its versions, rollouts, critiques, gate decisions, and one
`online_batch` record per finished batch), every LM call is cached there, and version numbers are fixed per batch,
so a crash mid-batch is resumed by running again: the batch is redone from the cache and comes out the same (unless
a re-import updated the feedback of its traces meanwhile: not learned from yet, they take it, store/traces.py).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from promptlearn.config import OnlineConfig
from promptlearn.data import Example, make_scorer
from promptlearn.errors import ConfigError
from promptlearn.judging import trust_table
from promptlearn.judging.judge import RubricJudge
from promptlearn.lm import LM, build_lm
from promptlearn.optimize.gate import GateResult, decide, reject
from promptlearn.optimize.proposers import with_examples_section, worked_examples
from promptlearn.optimize.rewriter import Evidence, Proposal, Rewriter
from promptlearn.playbook import Playbook
from promptlearn.rollouts import RolloutResult, RolloutRunner
from promptlearn.safety import looks_like_injection
from promptlearn.seeding import stream_seed
from promptlearn.stats import mean
from promptlearn.store import Store
from promptlearn.store.quality import detail
from promptlearn.store.tables import RolloutRow, TraceRow
from promptlearn.store.traces import BATCH_RECORD
from promptlearn.traces.references import answered, trace_example, verdict_of
from promptlearn.traces.scoring import FeedbackJudge, JudgeStopped, NoLabelScorer, rubric_example

RECORDED = -1  # the version number under which the recorded production outputs are stored


@dataclass(frozen=True)
class BatchOutcome:
    batch: int
    traces: int
    last_trace: int
    version: int  # the current version after the batch
    accepted: int | None
    note: str


@dataclass
class OnlineResult:
    run_id: str
    version: int
    playbook: Playbook
    batches: list[BatchOutcome] = field(default_factory=list)
    waiting: int = 0  # traces not yet in a batch
    trust: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "version": self.version, "playbook": self.playbook.render(),
                "batches": [b.__dict__ for b in self.batches], "waiting": self.waiting, "judge_trust": self.trust}


def _row_id(row: TraceRow) -> int:
    assert row.id is not None  # a stored row
    return row.id


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """The config as it decides results: a stored one read again (fields added since take their defaults)."""
    with contextlib.suppress(ValueError):  # one this version cannot read is compared as stored (and refused)
        config = OnlineConfig.model_validate(config).model_dump(mode="json")
    return {k: v for k, v in config.items() if k != "poll_s"}


class OnlineLearner:
    def __init__(self, cfg: OnlineConfig, store: Store, inner: LM | None = None,
                 on_note: Callable[[str], None] | None = None):
        self.cfg, self.store, self.note = cfg, store, on_note or (lambda _text: None)
        self.stream = cfg.traces.stream
        self.seed_pb = Playbook(seed_prompt=cfg.system_prompt)
        self.run_id = self._find_or_create()
        lm = build_lm(store, self.run_id, inner=inner, api_base=cfg.models.api_base)
        models, learn = cfg.models, cfg.learn
        self.rubric = RubricJudge(lm, models.judge, cfg.rubric)
        self.critic = FeedbackJudge(lm, models.judge, "feedback", max_tokens=models.judge_max_tokens)
        self.rewriter = Rewriter(lm, models.rewriter, learn.rewriter_template, temperature=learn.temperature,
                                 mode=learn.mode, max_tokens=models.rewriter_max_tokens)
        scorer = NoLabelScorer(make_scorer(cfg.scorer), self.rubric, cfg.system_prompt)
        self.runner = RolloutRunner(lm, models.task, scorer, store, self.run_id, models.concurrency,
                                    max_tokens=models.task_max_tokens)
        # The worked-example pool (traces with a known answer), grown as batches advance: each batch reads only
        # the traces imported since the last one, not the whole stream again.
        self._answered: list[Example] = []
        self._answered_through = 0

    # ---- the run and its state ------------------------------------------------------------------------------
    def _find_or_create(self) -> str:
        """The stream's online run of this name (a restart continues it), else a new one with the seed version."""
        config = self.cfg.model_dump(mode="json")
        for row in self.store.list_runs(100_000):
            stored = json.loads(row.config_json)
            if row.kind == "online" and row.name == self.cfg.name and \
                    stored.get("traces", {}).get("stream") == self.stream:
                if _comparable(stored) != _comparable(config):
                    raise ConfigError(f"online run {row.id} ('{row.name}' on stream '{self.stream}') was started "
                                      "with another config; give another name to start a new run")
                return row.id
        run_id = self.store.create_run("online", self.cfg.name, config)
        self.store.commit_version(run_id, 0, self.seed_pb, status="seed")
        return run_id

    def _state(self) -> tuple[int, int, int, int]:
        """Batches done, the last trace id they took, the current version, the next free version number."""
        done = self.store.quality(self.run_id, kind=BATCH_RECORD)
        if not done:
            return 0, 0, 0, 1
        last = detail(done[-1])
        return len(done), int(last["last_trace"]), done[-1].version_number or 0, int(last["next_number"])

    def _playbook(self, number: int) -> Playbook:
        row = self.store.get_version(self.run_id, number)
        return self.seed_pb if row is None else Playbook.from_json(row.content_json)

    # ---- driving --------------------------------------------------------------------------------------------
    def step(self, partial: bool) -> BatchOutcome | None:
        """Learn from the next batch of new traces; a short batch only when `partial`. None: nothing to do."""
        batches, last, current, next_number = self._state()
        rows = self.store.traces(self.stream, after=last, limit=self.cfg.batch)
        if not rows or (len(rows) < self.cfg.batch and not partial):
            return None
        return self._batch(batches + 1, rows, current, next_number)

    def run_once(self, max_batches: int | None = None) -> OnlineResult:
        """Every batch there is now, the last one short if need be (`--once`, for cron)."""
        done: list[BatchOutcome] = []
        while max_batches is None or len(done) < max_batches:
            outcome = self.step(partial=True)
            if outcome is None:
                break
            done.append(outcome)
        return self.result(done)

    def watch(self, stop: Callable[[], bool], sleep: Callable[[float], None] = time.sleep) -> OnlineResult:
        """Full batches as they arrive, looking every `poll_s` seconds, until `stop()` says so."""
        done: list[BatchOutcome] = []
        while not stop():
            outcome = self.step(partial=False)
            if outcome is None:
                sleep(self.cfg.poll_s)
            else:
                done.append(outcome)
        return self.result(done)

    def result(self, batches: list[BatchOutcome]) -> OnlineResult:
        _done, last, current, _next = self._state()
        table = trust_table([c for c in self.store.critiques(self.run_id) if c.judge == self.rubric.name])
        result = OnlineResult(self.run_id, current, self._playbook(current), batches,
                              len(self.store.traces(self.stream, after=last)), table.get("all", {}))
        self.store.finish_run(self.run_id, "stopped", result.as_dict())
        return result

    # ---- one batch ------------------------------------------------------------------------------------------
    def _example(self, row: TraceRow) -> Example:
        return trace_example(row, self.cfg)

    def _verdict(self, example: Example) -> str | None:
        return verdict_of(example, self.cfg)

    def _batch(self, number: int, rows: list[TraceRow], current_no: int, next_number: int) -> BatchOutcome:
        current = self._playbook(current_no)
        first_id, last_id = _row_id(rows[0]), _row_id(rows[-1])
        examples = [self._example(r) for r in rows]
        failures, successes = self._evidence(examples, current)
        self.note(f"batch {number}: {len(rows)} traces, {len(failures)} rated bad, {len(successes)} rated good")
        accepted: int | None = None
        note = "no negative feedback in the batch"
        if failures:
            replay = [self._example(r) for r in self.store.traces(self.stream, limit=self.cfg.replay,
                                                                   through=first_id - 1)]
            accepted, note = self._update(number, current, current_no, next_number, examples, replay, failures,
                                          successes)
        version = current_no if accepted is None else accepted
        outcome = BatchOutcome(number, len(rows), last_id, version, accepted, note)
        # Written last: a crash before this line redoes the batch (from the cache, to the same result).
        self.store.add_quality(self.run_id, BATCH_RECORD, key=str(number), value=float(len(rows)), version=version,
                               last_trace=last_id, next_number=next_number + self._per_batch(),
                               accepted=accepted, note=note)
        self.note(f"batch {number}: {note}")
        return outcome

    def _evidence(self, examples: list[Example], current: Playbook) -> tuple[list[Evidence], list[Evidence]]:
        """Rated recorded outputs: each stored with the user's verdict and the rubric judge's (judge trust); the
        bad ones critiqued with the feedback as evidence."""
        failures: list[Evidence] = []
        successes: list[Evidence] = []
        for example in examples:
            verdict = self._verdict(example)
            if verdict is None:
                continue
            recorded = example.metadata["recorded"]
            row = self.store.add_rollout(RolloutRow(
                run_id=self.run_id, version_number=RECORDED, example_id=example.id, split="recorded", output=recorded,
                score=1.0 if verdict == "pass" else 0.0, reason="user feedback"))
            assert row.id is not None
            task_prompt = self.cfg.system_prompt
            judged = self.rubric.judge(task_prompt, rubric_example(task_prompt, example), recorded)
            self.store.record_critique(self.run_id, row.id, self.rubric.name, judged, correct=verdict == "pass")
            feedback = example.metadata["feedback"]
            if verdict == "pass":
                if len(successes) < self.cfg.learn.successes_shown:
                    successes.append(Evidence(str(row.id), example.input, recorded, recorded))
                continue
            if len(failures) >= self.cfg.learn.max_failures:
                continue
            shown = example.metadata.get("system_prompt") or current.render()
            critique = self.critic.judge(shown, example, recorded)
            flags = "injection" if looks_like_injection(example.input, recorded, feedback.get("comment") or "") else ""
            self.store.record_critique(self.run_id, row.id, self.critic.name, critique, correct=False, flags=flags)
            said = f" The user said: {feedback['comment']}" if feedback.get("comment") else ""
            failures.append(Evidence(str(row.id), example.input, recorded,
                                     example.target or "(no reference: see the user's feedback)",
                                     (critique.critique if critique.parsed else "") + said, critique.suggested_rule))
        return failures, successes

    def _update(self, batch: int, current: Playbook, current_no: int, first: int, examples: list[Example],
                replay: list[Example], failures: list[Evidence], successes: list[Evidence]) -> tuple[int | None, str]:
        """Candidates from the critiques, each gated against the current playbook on the batch plus the replay
        set. Returns the accepted version (or None) and what happened."""
        seen = {e.id for e in examples}
        gate_set = [*examples, *(e for e in replay if e.id not in seen)]
        if self.cfg.unrated == "skip":  # the rubric judge is not trusted on this stream: only what users said
            gate_set = [e for e in gate_set if self._verdict(e) is not None or e.target]
        replay_ids = {e.id for e in replay if e.id not in seen}
        base = self._rollouts(current, gate_set, current_no)
        best: tuple[float, int] | None = None
        notes: list[str] = []
        for number in range(first, first + self._per_batch()):
            shown: set[str] = set()
            parent = current
            if number < first + self.cfg.learn.candidates:
                proposal = self.rewriter.propose(current, failures, successes,
                                                 seed=stream_seed(self.cfg.seed, "proposal", number))
            else:  # the last number: worked examples from traces whose answer is known
                proposal, shown = self._examples(current, base, examples[-1])
                if not proposal.deltas:
                    continue
                parent = with_examples_section(current)
            applied = parent.apply(proposal.deltas, version=number)
            self.store.commit_version(self.run_id, number, applied.playbook, status="candidate", parent=current_no,
                                      iteration=batch, outcomes=[(o.delta, o.applied, o.reason)
                                                                 for o in applied.outcomes])
            if not proposal.ok or not applied.applied:
                why = proposal.error or "no delta applied"
                self.store.record_rejection(self.run_id, number, why)
                notes.append(f"v{number}: {why}")
                continue
            # An example shown to the task model is left out of both sides: it would pass by copying its answer.
            cand = self._rollouts(applied.playbook, [e for e in gate_set if e.id not in shown], number)
            gate = self._gate([r for r in base if r.example.id not in shown], cand, replay_ids, number)
            self.store.record_gate_decision(self.run_id, number, current_no, gate, mean([r.score for r in cand]))
            notes.append(f"v{number}: {gate.reason}")
            if gate.accepted and (best is None or gate.diff > best[0]):
                best = (gate.diff, number)
        if best is None:
            return None, "; ".join(notes)
        self.store.accept_version(self.run_id, best[1])
        return best[1], "; ".join(notes) + f"; accepted v{best[1]}"

    def _per_batch(self) -> int:
        """Version numbers a batch reserves: the rewriter's candidates, then one of worked examples if on."""
        learn = self.cfg.learn
        return learn.candidates + (1 if learn.worked_examples and learn.mode == "deltas" else 0)

    def _examples(self, current: Playbook, base: list[RolloutResult], last: Example) -> tuple[Proposal, set[str]]:
        """Worked examples for the current playbook's failures on the gate set, from the stream's traces up to this
        batch whose answer is known (a correction, or an approved label)."""
        upto = int(last.metadata["trace"])
        if upto < self._answered_through:  # not expected (batches advance), but never use later traces
            self._answered, self._answered_through = [], 0
        if upto > self._answered_through:
            new = self.store.traces(self.stream, after=self._answered_through, through=upto)
            self._answered += answered([self._example(r) for r in new])
            self._answered_through = upto
        pool = list(self._answered)
        failed = [r for r in base if not r.correct]
        picked = worked_examples(current, failed, pool, self.cfg.learn.worked_examples)
        return Proposal(deltas=tuple(d for d, _e in picked)), {e.id for _d, e in picked}

    def _rollouts(self, playbook: Playbook, examples: list[Example], number: int) -> list[RolloutResult]:
        try:
            return self.runner.run(playbook.render(), examples, number, "online")
        except JudgeStopped as stopped:
            raise stopped.args[0] from None

    def _gate(self, base: list[RolloutResult], cand: list[RolloutResult], replay_ids: set[str],
              number: int) -> GateResult:
        cfg = self.cfg.gate
        result = decide([r.score for r in base], [r.score for r in cand], method=cfg.method,
                        confidence=cfg.confidence, min_gain=cfg.min_gain,
                        seed=stream_seed(self.cfg.seed, "gate", number))
        worked = {r.example.id for r in base if r.correct and r.example.id in replay_ids}
        broken = sum(1 for r in cand if r.example.id in worked and not r.correct)
        if result.accepted and broken > self.cfg.max_broken:
            return reject(result, f"rejected: broke {broken} replayed traces that worked (max {self.cfg.max_broken})")
        return result
