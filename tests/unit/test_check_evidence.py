"""A scorer whose failure reason says *why* (the hidden rules a record broke, no option letter found) has it shown
to the judge and the rewriter; a bare "expected X, got Y" from a label scorer is not repeated to them."""

from __future__ import annotations

from pathlib import Path

from promptlearn import optimize
from promptlearn.data import Example
from promptlearn.data.scorers import Score
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.store import Store
from tests.fakes_task import task_answer, world_with
from tests.unit.test_pipeline import config

RULE = "R3 the label is in capitals"


def capitals_rule(output: str, example: Example) -> Score:
    if output.strip() == example.target:
        return Score(1.0, "passes all rules", output.strip())
    return Score(0.0, f"failed 1 of 3 rules: {RULE} (got {output[:20]!r})")


def spy(lm: FakeLM) -> tuple[FakeLM, list[str], list[str]]:
    judge_prompts: list[str] = []
    rewriter_prompts: list[str] = []
    real = lm.complete

    def complete(request: LMRequest):  # type: ignore[no-untyped-def]
        props = (request.json_schema or {}).get("properties", {})
        if "deltas" in props:
            rewriter_prompts.append(request.messages[-1][1])
        elif "failure_mode" in props:
            judge_prompts.append(request.messages[-1][1])
        return real(request)

    lm.complete = complete  # type: ignore[method-assign]
    return lm, judge_prompts, rewriter_prompts


def run(tmp_path: Path, scorer: str) -> tuple[list[str], list[str]]:
    lm, judged, rewrites = spy(world_with(task_answer, []))
    cfg = config(tmp_path, scorer=scorer, budget={"max_iterations": 1}, learn={"worked_examples": 0, "explain": True})
    optimize(cfg, store=Store(str(tmp_path / "db.sqlite")), lm=lm)
    assert judged and rewrites
    return judged, rewrites


def test_a_rule_checking_scorer_s_reasons_reach_the_judge_and_the_rewriter(tmp_path: Path) -> None:
    judged, rewrites = run(tmp_path, "python:tests.unit.test_check_evidence:capitals_rule")
    assert any("## What the automatic check found" in p and RULE in p for p in judged)
    assert all("check of the calls" not in p for p in judged)
    assert "Automatic check:" in rewrites[0] and RULE in rewrites[0]


def test_a_label_scorer_s_expected_and_got_is_not_repeated_as_a_check(tmp_path: Path) -> None:
    judged, rewrites = run(tmp_path, "label:BILLING,BUG,ACCOUNT,SHIPPING")
    assert not any("automatic check" in p.lower() for p in judged)
    assert "Automatic check" not in rewrites[0]
