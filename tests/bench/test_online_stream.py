"""benchmarks/online_stream.py end to end on real CLINC150 banking examples with scripted models: the task model
answers right only under a rule the rewriter proposes, so the final prompt beats the seed on later traffic only if
the online learner learned it from the simulated users' feedback."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from benchmarks.online_stream import CORRECT_RATE, RATE, run, simulate_users
from promptlearn.bench.learn import LEARN_MODELS, clinc_intents
from promptlearn.data import Example
from promptlearn.data.paths import shared_data_dir
from promptlearn.evaluate import summarize
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.rollouts import RolloutResult
from tests.fakes_task import GOOD_RULE, add, judge_reply
from tests.traces.world import answer_in

_USER = re.compile(r"User message:\n(.*?)\n`{3,}", re.DOTALL)
# More users rate and correct than the defaults, so that each kind of feedback occurs in so short a stream.
SIZES = {"stream": 12, "batch": 6, "replay": 3, "test": 8, "rate": 0.7, "correction_rate": 0.5}


def _truth() -> dict[str, str]:
    root = shared_data_dir()
    path = root / "clinc150" / "banking.jsonl" if root else None
    if path is None or not path.is_file():
        pytest.skip("../shared/data/clinc150 is not beside the repository")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["input"]: r["target"] for r in rows}


def banking_world(truth: dict[str, str]) -> FakeLM:
    """The task model answers the true intent under GOOD_RULE, else a wrong one (except `balance`, which it knows); the
    rubric judge passes the true intent; the critic suggests GOOD_RULE and the rewriter adds it."""
    intents = clinc_intents("banking")

    def task(request: LMRequest) -> str:
        system, user = request.messages[0][1], request.messages[-1][1]
        right = truth[user]
        if GOOD_RULE in system or right == "balance":
            return right
        return intents[(intents.index(right) + 1) % len(intents)]

    def respond(request: LMRequest) -> str:
        props = (request.json_schema or {}).get("properties", {})
        if "deltas" in props:
            return add(GOOD_RULE)
        if "failure_mode" in props:
            return judge_reply(request)
        if "criteria" in props:
            found = _USER.search(request.messages[-1][1])
            assert found, "no user message in the rubric request"
            met = answer_in(request).strip() == truth[found.group(1)]
            return json.dumps({"criteria": [{"id": c, "reason": "checked", "met": met}
                                            for c in ("answers", "form", "grounded")],
                               "critique": "" if met else "Wrong intent.", "verdict": "pass" if met else "fail"})
        assert request.model == LEARN_MODELS.task
        return task(request)

    return FakeLM(respond)


def _run(tmp_path: Path, truth: dict[str, str], **sizes: Any) -> dict[str, Any]:
    out = tmp_path / "results"
    return run(db=str(tmp_path / "online.db"), out_dir=str(out), inner=banking_world(truth), **{**SIZES, **sizes})


def test_online_learning_on_the_stream_beats_the_seed_on_later_traffic(tmp_path: Path) -> None:
    truth = _truth()
    summary = _run(tmp_path, truth)
    written = json.loads((tmp_path / "results" / "online_stream.json").read_text())
    assert written == json.loads(json.dumps(summary))
    seed, final = written["test"]["seed"], written["test"]["final"]
    assert final["accuracy"] == 1.0 and final["accuracy"] > seed["accuracy"]
    assert written["test"]["paired_diff"]["diff"] == pytest.approx(final["accuracy"] - seed["accuracy"])
    assert GOOD_RULE in written["final_prompt"] and GOOD_RULE not in written["seed_prompt"]
    online = written["online"]
    assert online["accepted_versions"] and len(online["batches"]) == 2
    assert online["calls"]["rewriter"]["calls"] >= 1 and online["calls"]["judge"]["calls"] >= 1
    assert online["judge_trust"]["agreement"] == 1.0  # the scripted judge agrees with the users

    # The simulated users: thumbs only on rated traces, up exactly when the shown output was right, corrections
    # (the true label) only on thumbs-down.
    stream = written["stream"]
    lines = [json.loads(line) for line in Path(stream["log"]).read_text().splitlines()]
    assert stream["traces"] == len(lines) == SIZES["stream"]
    assert stream["rated"] == stream["thumbs_up"] + stream["thumbs_down"] == sum("feedback" in x for x in lines)
    assert stream["thumbs_up"] > 0 and 0 < stream["corrections"] < stream["thumbs_down"]
    for line in lines:
        feedback = line.get("feedback")
        if feedback is None:
            continue
        right = line["output"] == truth[line["input"]]
        assert feedback["label"] == ("thumbs_up" if right else "thumbs_down")
        assert "correction" not in feedback or (not right and feedback["correction"] == truth[line["input"]])
    assert stream["import"]["added"] == SIZES["stream"]
    md = (tmp_path / "results" / "online_stream.md").read_text()
    assert GOOD_RULE in md and "majority baseline" in md

    # A rerun replays: nothing new imported, no new model call, the same figures.
    again = _run(tmp_path, truth)
    assert again["stream"]["import"]["added"] == 0
    assert again["stream"]["import"]["duplicates"] == SIZES["stream"]
    assert again["online"]["batches_run_now"] == 0 and again["online"]["batches"] == online["batches"]
    assert again["test"] == written["test"]
    assert all(not calls for calls in again["fresh_calls"].values())


def test_simulated_users_rate_30_percent_and_correct_a_tenth_of_the_thumbs_down() -> None:
    results = [RolloutResult(Example(f"e{i}", f"message {i}", "balance"), "balance" if i % 2 else "transfer",
                             float(i % 2), "scored") for i in range(2000)]
    lines = simulate_users(summarize(results), "Classify.", seed=0)
    assert lines == simulate_users(summarize(results), "Classify.", seed=0)  # seeded
    rated = [x for x in lines if "feedback" in x]
    assert abs(len(rated) / len(lines) - RATE) < 0.03
    for line in rated:
        right = line["output"] == "balance"
        assert line["feedback"]["label"] == ("thumbs_up" if right else "thumbs_down")
        assert "correction" not in line["feedback"] or (not right and line["feedback"]["correction"] == "balance")
    down = [x for x in rated if x["feedback"]["label"] == "thumbs_down"]
    assert abs(sum("correction" in x["feedback"] for x in down) / len(down) - CORRECT_RATE) < 0.05
    assert all(x["metadata"]["system_prompt"] == "Classify." for x in lines)
