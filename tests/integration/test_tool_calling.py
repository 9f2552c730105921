"""Tool calling for real: the embedded Qwen2.5 model calls a function through llama.cpp (its chat template's
tool format), and bfcl-eval's own checker (in its virtualenv, made on first use from PyPI) judges calls."""

from __future__ import annotations

import json

import pytest

from promptlearn.data import bfcl
from promptlearn.data.scorers.tool_calls import BfclCalls, kind_of
from promptlearn.lm import LMRequest, build_lm
from promptlearn.rollouts import RolloutRunner
from promptlearn.toolcalls import ToolCall, ToolReply, read_reply
from tests.conftest import have_model

pytestmark = pytest.mark.integration
MODEL = "local/qwen2.5-0.5b"
needs_qwen = pytest.mark.skipif(not have_model("qwen2.5-0.5b"), reason="run: promptlearn models pull qwen2.5-0.5b")
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city."}},
                   "required": ["city"]}}}


@needs_qwen
def test_the_embedded_model_makes_a_real_call_and_may_make_none() -> None:
    lm = build_lm()
    system = {"role": "system", "content": "You can call these functions."}
    ask = LMRequest.chat(MODEL, [system, {"role": "user", "content": "What is the weather in Paris?"}],
                         max_tokens=64, tools=[WEATHER])
    reply = read_reply(lm.complete(ask).text)
    assert reply is not None and reply.calls == (ToolCall("get_weather", {"city": "Paris"}),)
    chat = LMRequest.chat(MODEL, [system, {"role": "user", "content": "Write a haiku about the sea."}],
                          max_tokens=48, tools=[WEATHER])
    answer = read_reply(lm.complete(chat).text)
    assert answer is not None and answer.calls == () and answer.content  # no grammar forced a call


@pytest.fixture(scope="module")
def simple_python() -> list[dict]:
    with bfcl.dataset_file("simple_python").open(encoding="utf-8") as fh:
        return [json.loads(fh.readline()) for _ in range(3)]


def test_bfcl_checker_judges_calls_with_its_own_errors(simple_python: list[dict]) -> None:
    from promptlearn.data import load_dataset

    row = simple_python[0]  # calculate_triangle_area(base=10, height=5)
    assert row["tools"][0]["function"]["parameters"]["type"] == "object"  # bfcl-eval's OpenAI conversion
    example = load_dataset(bfcl.dataset_file("simple_python"), id="id", metadata=bfcl.METADATA, limit=1).examples[0]
    assert example.tools is not None and example.id == "simple_python_0"
    scorer = BfclCalls()
    good = ToolReply("", (ToolCall("calculate_triangle_area", {"base": 10, "height": 5}),))
    assert scorer(good.as_text(), example).value == 1.0
    cases = {"wrong value": {"base": 11, "height": 5}, "wrong type": {"base": 10.0, "height": 5},
             "missing argument": {"height": 5}, "unexpected argument": {"base": 10, "height": 5, "color": "red"}}
    for kind, arguments in cases.items():
        score = scorer(ToolReply("", (ToolCall("calculate_triangle_area", arguments),)).as_text(), example)
        assert score.value == 0.0 and score.reason.startswith(f"{kind}: "), (kind, score.reason)
    assert scorer(ToolReply("", (ToolCall("area", {}),)).as_text(), example).reason.startswith("wrong function")
    assert scorer(ToolReply("I can't.").as_text(), example).reason.startswith("no call")


@needs_qwen
def test_a_bfcl_rollout_with_the_embedded_model_is_scored(simple_python: list[dict]) -> None:
    from promptlearn.data import load_dataset

    example = load_dataset(bfcl.dataset_file("simple_python"), id="id", metadata=bfcl.METADATA, limit=1).examples[0]
    runner = RolloutRunner(build_lm(), MODEL, BfclCalls(), max_tokens=96)
    [result] = runner.run("You can call these functions.", [example], 0, "test")
    assert read_reply(result.output) is not None and result.error is None
    assert result.score == 1.0 or kind_of(result.reason) is not None, result.reason


@pytest.mark.parametrize("category", ["simple_python", "multiple"])
def test_the_reference_answers_pass_the_checker_under_the_names_the_tools_offer(category: str) -> None:
    """bfcl-eval's converted tools, our call shape and its checker fit together: each entry's first acceptable
    values, called by the name the tools offer ("." written "_"), pass (entries with dict arguments aside)."""
    rows = [json.loads(line) for line in bfcl.dataset_file(category).read_text(encoding="utf-8").splitlines()[:30]]
    items = []
    for row in rows:
        [(name, args)] = json.loads(row["target"])[0].items()
        if any(isinstance(v[0], dict) for v in args.values() if v):
            continue
        offered = {t["function"]["name"] for t in row["tools"]}
        assert name.replace(".", "_") in offered
        call = {"name": name.replace(".", "_"), "arguments": {k: v[0] for k, v in args.items() if v and v[0] != ""}}
        items.append({"category": category, "functions": row["functions"], "answer": row["target"], "calls": [call]})
    assert len(items) >= 25 and all(v["valid"] for v in bfcl.check(items))
    irrelevant = [{**item, "category": "irrelevance", "answer": "[]"} for item in items[:2]]
    assert [v["error_type"] for v in bfcl.check(irrelevant)] == ["irrelevance_error:decoder_success"] * 2


def test_bfcl_evals_virtualenv_is_made_once_from_pinned_hashed_wheels(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setenv("PROMPTLEARN_BFCL_HOME", str(tmp_path / "bfcl"))
    lines = bfcl.requirements_text().splitlines()
    assert len(lines) == len(bfcl.REQUIREMENTS) and all("==" in line and "--hash=sha256:" in line for line in lines)
    with ThreadPoolExecutor(2) as pool:  # two scorers starting at once share one build
        pythons = list(pool.map(lambda _: bfcl.ensure_venv(), range(2)))
    assert pythons[0] == pythons[1] == tmp_path / "bfcl" / "venv" / "bin" / "python"
    assert sorted(p.name for p in (tmp_path / "bfcl").iterdir()) == ["venv"]  # no build folder left behind
    assert bfcl.check([{"category": "irrelevance", "functions": [], "answer": "[]", "calls": []}])[0]["valid"]


def test_a_bfcl_category_loads_with_its_tools_ids_and_checker_columns() -> None:
    from promptlearn.data import default_scorer_for, load_dataset

    dataset = load_dataset("bfcl:irrelevance", limit=3)
    assert [e.id for e in dataset] == ["irrelevance_0", "irrelevance_1", "irrelevance_2"]
    assert all(e.tools and e.target == "[]" and e.metadata["category"] == "irrelevance" for e in dataset)
    assert isinstance(default_scorer_for(dataset), BfclCalls)
