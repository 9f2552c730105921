"""A real stored optimization run made with FakeLM: a rejected candidate, then an accepted rule that cites the
critiqued training rollouts the rewriter was shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from promptlearn import optimize
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.store import Store
from tests.fakes_task import BAD_RULE, GOOD_RULE, add, task_answer
from tests.unit.test_optimize import config

CRITIQUE = "The answer was a sentence, not the bare label."


def make_run(folder: Path, rule: str = GOOD_RULE, critique: str = CRITIQUE, **overrides: object) -> tuple[Store, str]:
    def cite_shown_failures(prompt: str) -> str:
        evidence = re.findall(r"^### (f\d+)", prompt, flags=re.M)
        return json.dumps({"deltas": [{"op": "add", "section": "formatting", "text": rule,
                                       "reason": "answers were sentences", "evidence": evidence}]})

    replies = [lambda _prompt: add(BAD_RULE), cite_shown_failures]

    def respond(request: LMRequest) -> str:
        props = (request.json_schema or {}).get("properties", {})
        if "deltas" in props:
            prompt = "\n".join(content for _role, content in request.messages)
            return replies.pop(0)(prompt) if replies else json.dumps({"deltas": []})
        if "failure_mode" in props:
            return json.dumps({"critique": critique, "failure_mode": "wrong_format", "suggested_rule": rule,
                               "verdict": "fail", "confidence": 0.9})
        return task_answer(request)

    folder.mkdir(parents=True, exist_ok=True)
    store = Store(str(folder / "db.sqlite"))
    result = optimize(config(folder, budget={"max_iterations": 3}, **overrides), store=store, lm=FakeLM(respond))
    return store, result.run_id


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str]:
    return make_run(tmp_path_factory.mktemp("run"))
