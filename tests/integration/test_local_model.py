"""The real embedded model (SmolLM2-135M through llama.cpp in process). Slow-ish but honest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlearn import evaluate, optimize, preset
from promptlearn.lm import LMRequest, build_lm
from promptlearn.store import Store
from tests.conftest import SHARED_BBH, needs_smollm

pytestmark = [pytest.mark.integration, needs_smollm]
MODEL = "local/smollm2-135m"


def test_local_model_answers_and_reports_usage() -> None:
    reply = build_lm().complete(LMRequest.chat(MODEL, [{"role": "user", "content": "Say hi."}], max_tokens=8))
    assert reply.ok and reply.text.strip()
    assert reply.usage.prompt_tokens > 0 and 0 < reply.usage.completion_tokens <= 8


def test_json_schema_is_enforced_by_the_grammar() -> None:
    schema = {"type": "object", "properties": {"verdict": {"type": "string", "enum": ["pass", "fail"]},
                                               "score": {"type": "integer"}}, "required": ["verdict", "score"]}
    request = LMRequest.chat(MODEL, [{"role": "user", "content": "Grade: 2+2=5"}], max_tokens=40, json_schema=schema)
    data = json.loads(build_lm().complete(request).text)
    assert data["verdict"] in ("pass", "fail") and isinstance(data["score"], int)


@pytest.mark.skipif(not SHARED_BBH.exists(), reason="needs ../shared/data/bbh")
def test_evaluate_stores_everything_and_a_rerun_makes_no_call(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    first = evaluate("bbh:navigate", "Answer Yes or No.", MODEL, store=store, limit=4, max_tokens=16)
    assert first.accuracy.n == 4 and 0 <= first.accuracy.low <= first.accuracy.estimate <= first.accuracy.high
    calls = store.call_stats()["calls"]
    assert calls == 4 and len(store.rollouts(first.run_id)) == 4
    second = evaluate("bbh:navigate", "Answer Yes or No.", MODEL, store=store, limit=4, max_tokens=16)
    assert store.call_stats()["calls"] == calls  # identical requests were answered from the store
    assert [r.output for r in second.results] == [r.output for r in first.results]


def test_dspy_lm_answers_through_our_provider() -> None:
    dspy = pytest.importorskip("dspy")
    from promptlearn.lm.litellm_lm import register_local_provider

    register_local_provider()
    lm = dspy.LM(MODEL, cache=False, max_tokens=12, temperature=0.0)
    out = lm("Reply with one word: hello")
    assert isinstance(out, list) and out and isinstance(out[0], str) and out[0].strip()
    assert lm.history[-1]["usage"]["completion_tokens"] > 0


@pytest.mark.skipif(not SHARED_BBH.exists(), reason="needs ../shared/data/bbh")
def test_two_iteration_optimization_with_the_real_model(tmp_path: Path) -> None:
    config = preset("quick", name="it", system_prompt="Answer Yes or No.",
                    dataset={"path": "bbh:navigate", "train": 6, "val": 6, "test": 6},
                    # The 135M model rambles to the rewriter's cap, at 4-5 tokens/s under the JSON grammar: at 600
                    # its two rewrites were 263 of the test's 337 s of model time.
                    models={"task": MODEL, "judge": MODEL, "rewriter": MODEL, "task_max_tokens": 12,
                            "rewriter_max_tokens": 160},
                    budget={"max_iterations": 2, "patience": 5},
                    learn={"batch_size": 4, "max_failures": 2, "explain": True})
    store = Store(str(tmp_path / "db.sqlite"))
    result = optimize(config, store=store)
    assert result.iterations >= 1
    assert store.get_run(result.run_id).status == "completed"
    versions = store.versions(result.run_id)
    assert versions[0].status == "seed" and len(versions) >= 2  # at least one proposal was recorded
    assert store.critiques(result.run_id), "failures were critiqued by the real judge"
    assert result.final_test.accuracy.n == 6
