"""A scripted world for optimizer tests: a task model whose behaviour depends on the rules in its prompt."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from promptlearn.lm import FakeLM, LMRequest
from promptlearn.quality.calibration import FOLLOWUP_QUESTION

LABELS = ["BILLING", "BUG", "ACCOUNT", "SHIPPING"]
GOOD_RULE = "Answer with the bare label only."
# The loop with one rewriter candidate per iteration, validated directly (no worked examples, screening, merge or
# alpha spending): the tests of resume, budgets, credit and quality checks script that path step by step; the
# pipeline's own tests (test_pipeline.py) turn these back on.
SINGLE_CANDIDATE: dict[str, dict[str, object]] = {
    "learn": {"worked_examples": 0, "screen": False, "merge": False},
    "gate": {"alpha_spending": False, "drift_check": False},
}
BAD_RULE = "Always answer BILLING."


def write_dataset(path: Path, n: int = 60) -> Path:
    rows = [{"input": f"ticket {i} about {LABELS[i % 4].lower()}", "target": LABELS[i % 4]} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def task_answer(request: LMRequest) -> str:
    system, user = request.messages[0][1], request.messages[-1][1]
    label = user.split(" about ")[-1].upper()
    if BAD_RULE in system:
        return "BILLING"
    if GOOD_RULE in system:
        return label
    # Without the rule the model is chatty: wrong under an exact-label scorer, except for every fourth ticket.
    number = int(user.split()[1])
    return label if number % 8 == 0 else f"I think this ticket is about {label.lower()}."


def judge_reply(_request: LMRequest) -> str:
    return json.dumps({"critique": "The answer was a sentence, not the bare label.", "failure_mode": "wrong_format",
                       "suggested_rule": GOOD_RULE, "verdict": "fail", "confidence": 0.9})


def world(rewrites: list[str]) -> FakeLM:
    """`rewrites` are the rewriter's replies in order (JSON text, possibly invalid)."""
    return world_with(task_answer, rewrites)


def world_with(task: Callable[[LMRequest], str], rewrites: list[str]) -> FakeLM:
    """The rewriter's replies in order, the stock judge, and `task` answering every task-model request."""
    queue = list(rewrites)

    def respond(request: LMRequest) -> str:
        props = (request.json_schema or {}).get("properties", {})
        if "deltas" in props or "prompt" in props:
            return queue.pop(0) if queue else json.dumps({"deltas": []})
        if "failure_mode" in props:
            return judge_reply(request)
        if request.messages[-1][1] == FOLLOWUP_QUESTION:  # quality.confidence asks after the answer
            return "0.8"
        return task(request)

    return FakeLM(respond)


def add(text: str, section: str = "formatting") -> str:
    return json.dumps({"deltas": [{"op": "add", "section": section, "text": text, "reason": "fix", "evidence": []}]})
