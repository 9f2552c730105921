"""A scripted production world for the online learner: a support bot that is chatty until the playbook tells it to
answer with the bare label, users who rate some answers, a rubric judge and a feedback critic."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from promptlearn.config import OnlineConfig, load_online_config
from promptlearn.lm import FakeLM, LMRequest
from tests.fakes_task import GOOD_RULE, LABELS, add, judge_reply, task_answer
from tests.traces.samples import log_lines

SYSTEM = "Label the support ticket: BILLING, BUG, ACCOUNT or SHIPPING."
_ANSWER = re.compile(r"## Model answer\n(`{3,})\n(.*?)\n\1", re.DOTALL)


def answer_in(request: LMRequest) -> str:
    """The model answer a judge request shows (inside its fence)."""
    match = _ANSWER.search(request.messages[-1][1])
    assert match, "no model answer in the judge request"
    return match.group(2)


def rubric_reply(request: LMRequest, bare_passes: bool = True) -> str:
    """Passes a bare label (or, with `bare_passes=False`, fails everything)."""
    met = bare_passes and answer_in(request).strip() in LABELS
    return json.dumps({"criteria": [{"id": c, "reason": "checked", "met": met} for c in ("answers", "form",
                                                                                         "grounded")],
                       "critique": "" if met else "Answer with the label only.", "verdict": "pass" if met else "fail"})


def production_world(rewrites: list[str] | None = None, task: Callable[[LMRequest], str] = task_answer,
                     rubric: Callable[[LMRequest], str] = rubric_reply) -> FakeLM:
    queue = list(rewrites if rewrites is not None else [add(GOOD_RULE)] * 20)

    def respond(request: LMRequest) -> str:
        props = (request.json_schema or {}).get("properties", {})
        if "deltas" in props:
            return queue.pop(0) if queue else json.dumps({"deltas": []})
        if "criteria" in props:
            return rubric(request)
        if "failure_mode" in props:
            return judge_reply(request)
        return task(request)

    return FakeLM(respond)


def ticket(i: int) -> str:
    return f"ticket {i} about {LABELS[i % 4].lower()}"


def chatty(i: int) -> str:
    return f"I think this ticket is about {LABELS[i % 4].lower()}."


def traffic(path: Path, start: int, n: int, rate: Callable[[int], dict[str, Any] | None] | None = None) -> Path:
    """`n` recorded calls from ticket `start` on, answered by the seed prompt (chatty), rated by `rate`."""
    def default(i: int) -> dict[str, Any] | None:
        if i % 3 == 0:
            return {"label": "thumbs_down", "comment": "just tell me the category"}
        if i % 5 == 0:
            return {"correction": LABELS[i % 4]}
        return None

    rows = []
    for i in range(start, start + n):
        row: dict[str, Any] = {"input": ticket(i), "output": chatty(i)}
        feedback = (rate or default)(i)
        if feedback is not None:
            row["feedback"] = feedback
        rows.append(row)
    return log_lines(path, rows)


def online_config(**dotted: Any) -> OnlineConfig:
    base = {"system_prompt": SYSTEM, "batch": 12, "replay": 8, "gate.alpha_spending": False,
            "gate.drift_check": False}
    return load_online_config(None, **{**base, **dotted})
