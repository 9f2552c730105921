"""The loop's steps, each one job: critique failures, build a candidate from deltas, credit bullets."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from promptlearn.config import LearnConfig
from promptlearn.judging import ExplanatoryJudge
from promptlearn.optimize.rewriter import Evidence, Proposal
from promptlearn.playbook import (
    Delta,
    Measured,
    Playbook,
    cited_bullet_ids,
    dedupe_deltas,
    merge_duplicates,
    prune_to_budget,
)
from promptlearn.rollouts import RolloutResult
from promptlearn.safety import looks_like_injection
from promptlearn.store import Store


def evidence_id(rollout_id: int | None) -> str:
    return f"r{rollout_id}"


def critique(judge: ExplanatoryJudge, store: Store, run_id: str, system_prompt: str,
             results: Sequence[RolloutResult], show_check: bool,
             on_each: Callable[[], None] | None = None) -> list[Evidence]:
    """Judge each rollout (critique before verdict), store it with the code's verdict beside the judge's."""
    evidence = []
    for result in results:
        if on_each:
            on_each()
        assert result.rollout_id is not None
        stored = store.get_critique(result.rollout_id, judge.name)
        seen = code_evidence(result, show_check)
        if stored is None:
            verdict = judge.judge(system_prompt, result.example, result.output, seen.check)
            flagged = looks_like_injection(result.example.input, result.output)
            stored = store.record_critique(run_id, result.rollout_id, judge.name, verdict, correct=result.correct,
                                           flags="injection" if flagged else "")
        evidence.append(replace(seen, critique=stored.critique, suggested_rule=stored.suggested_rule))
    return evidence


def code_evidence(result: RolloutResult, show_check: bool) -> Evidence:
    """A rollout as the rewriter sees it without a judge: the input, the answer, the target and what the code
    scorer found (learn.explain off)."""
    assert result.rollout_id is not None
    tool_call = result.example.tools is not None
    # What the code scorer found (a tool call's checker error; the hidden rules a record broke; no option letter)
    # is shown to the judge and the rewriter; a bare "expected X, got Y" (labels, exact match) adds nothing.
    check = result.reason if tool_call or show_check else ""
    return Evidence(evidence_id(result.rollout_id), result.example.input, result.output, result.example.target,
                    check=check, tool_call=tool_call)


@dataclass(frozen=True)
class Candidate:
    playbook: Playbook
    deltas: tuple[Delta, ...]
    outcomes: tuple[tuple[Delta, bool, str], ...]
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return any(applied for _d, applied, _r in self.outcomes)


def build_candidate(parent: Playbook, proposal: Proposal, learn: LearnConfig, version: int,
                    measured: Mapping[str, Measured] | None = None) -> Candidate:
    """Apply a proposal; dedupe, merge near-duplicates and prune to the token budget (except add-only mode,
    which reproduces ACE's published recipe: no dedupe). Pruning goes by ablation credit where it was `measured`."""
    if proposal.prompt is not None:  # full rewrite: a new prompt, no bullets (what the Arize recipe does)
        playbook = Playbook(seed_prompt=proposal.prompt, sections=parent.sections)
        return Candidate(playbook, (), (), ("full rewrite of the prompt",))
    deltas: list[Delta] = list(proposal.deltas)
    dropped: list[tuple[Delta, str]] = []
    if learn.mode == "deltas":
        deltas, dropped = dedupe_deltas(parent, deltas, learn.dedupe_threshold)
    result = parent.apply(deltas, version=version)
    outcomes = [(o.delta, o.applied, o.reason) for o in result.outcomes]
    outcomes += [(d, False, reason) for d, reason in dropped]
    playbook, notes = result.playbook, []
    if learn.mode == "deltas":
        playbook, merged = merge_duplicates(playbook, learn.dedupe_threshold)
        playbook, pruned = prune_to_budget(playbook, learn.playbook_max_tokens, measured=measured)
        notes += [f"merged {m}" for m in merged] + [f"pruned {p} (token budget)" for p in pruned]
    return Candidate(playbook, tuple(deltas), tuple(outcomes), tuple(notes))


def citation_credit(playbook: Playbook, results: Sequence[RolloutResult]) -> Playbook:
    """ACE-style counters: a bullet the task model cites is helpful when the answer was right, else harmful."""
    helpful: dict[str, int] = {}
    harmful: dict[str, int] = {}
    for result in results:
        for bullet_id in cited_bullet_ids(result.output):
            bucket = helpful if result.correct else harmful
            bucket[bullet_id] = bucket.get(bullet_id, 0) + 1
    return playbook.with_counters(helpful=helpful, harmful=harmful) if helpful or harmful else playbook


def gate_credit(candidate: Candidate, wins: int, losses: int) -> Playbook:
    """Credit from the gate: the bullets a candidate added or changed share its paired wins and losses."""
    touched = {b.id for b in candidate.playbook.bullets if b.created_version or b.source} & {
        b.id for b in candidate.playbook.bullets if any(d.text == b.text for d in candidate.deltas)}
    if not touched:
        return candidate.playbook
    return candidate.playbook.with_counters(helpful={i: wins for i in touched}, harmful={i: losses for i in touched})


def error_patterns(results: Sequence[RolloutResult], top: int = 5) -> list[str]:
    """Counted confusions in the batch ('expected SHIPPING, answered BILLING: 4 times'): the rewriter sees the
    systematic errors, not only the few failures it is shown in full."""
    from collections import Counter

    counts = Counter((r.example.target, r.parsed if r.parsed is not None else "an unusable answer")
                     for r in results if not r.correct)
    return [f"expected {want}, answered {got}: {n} of {len(results)}" for (want, got), n in counts.most_common(top)]
