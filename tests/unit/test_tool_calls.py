"""Tool calling through the seam: requests carry tools (and keep their old key without), replies become one
JSON shape whatever the provider, rollouts store the calls, and the bfcl scorer turns checker errors into kinds."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from promptlearn.data import Example, load_dataset, make_scorer
from promptlearn.data.scorers.tool_calls import NO_CALL, BfclCalls, error_kind, kind_of
from promptlearn.errors import DatasetError
from promptlearn.judging import ExplanatoryJudge
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.lm.litellm_lm import LiteLLMLM, _to_completion
from promptlearn.lm.local import tool_reply
from promptlearn.rollouts import RolloutRunner
from promptlearn.store import Store
from promptlearn.toolcalls import ToolCall, ToolReply, from_openai, from_tagged_text, normalize_tools, read_reply

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city.",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                           "required": ["city"]}}}
FUNCTIONS = [{"name": "get_weather", "description": "Weather in a city.",
              "parameters": {"type": "dict", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


def tool_example(target: str = '[{"get_weather": {"city": ["Paris"]}}]', category: str = "simple_python") -> Example:
    return Example("w1", "What's the weather in Paris?", target,
                   {"tools": [WEATHER], "functions": FUNCTIONS, "category": category})


def test_request_key_is_unchanged_without_tools_and_includes_them_with() -> None:
    messages = [{"role": "user", "content": "hi"}]
    plain = LMRequest.chat("m", messages)
    assert "tools" not in plain.canonical() and LMRequest.chat("m", messages, tools=None).key == plain.key
    with_tools = LMRequest.chat("m", messages, tools=[WEATHER])
    assert with_tools.tools == (WEATHER,) and with_tools.canonical()["tools"] == [WEATHER]
    assert with_tools.key != plain.key
    other = {**WEATHER, "function": {**WEATHER["function"], "name": "get_time"}}
    assert LMRequest.chat("m", messages, tools=[other]).key != with_tools.key


def test_tool_replies_read_back_from_each_provider_shape() -> None:
    reply = ToolReply("", (ToolCall("get_weather", {"city": "Paris"}),))
    assert read_reply(reply.as_text()) == reply
    assert read_reply("Paris is sunny") is None and read_reply('{"answer": 1}') is None
    hosted = from_openai(None, [SimpleNamespace(function=SimpleNamespace(name="get_weather",
                                                                         arguments='{"city": "Paris"}'))])
    assert hosted == reply
    assert from_openai("x", [{"function": {"name": "f", "arguments": "{bad"}}]).calls == (ToolCall("f", "{bad"),)
    tagged = from_tagged_text('Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
                              '</tool_call>')
    assert tagged == ToolReply("Sure.", reply.calls)
    assert from_tagged_text("<tool_call>\nnot json</tool_call>").calls == (ToolCall("", "not json"),)
    assert from_tagged_text("I cannot help with that.") == ToolReply("I cannot help with that.", ())
    # the embedded model's tags are special tokens, dropped from its text: bare call objects are calls too
    bare = '{"name": "get_weather", "arguments": {"city": "Paris"}}'
    assert from_tagged_text(bare) == reply and from_tagged_text(f"```json\n{bare}\n```") == reply
    assert from_tagged_text(f"{bare}\n{bare}").calls == reply.calls * 2
    assert from_tagged_text('{"name": "Paris"}').calls == ()  # JSON, but not a call
    assert from_tagged_text(f"Calling: {bare}").calls == ()  # prose around it: an answer, not a call
    # llama-cpp-python's parsed calls win over the text; else the <tool_call> blocks
    parsed = [{"function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]
    assert tool_reply("", parsed) == reply and tool_reply(tagged_text(), None) == ToolReply("", reply.calls)


def tagged_text() -> str:
    return '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'


def test_hosted_requests_pass_tools_and_replies_keep_the_calls() -> None:
    request = LMRequest.chat("openai/x", [{"role": "user", "content": "hi"}], tools=[WEATHER])
    assert LiteLLMLM().request_kwargs(request)["tools"] == [WEATHER]
    assert "tool_choice" not in LiteLLMLM().request_kwargs(request)  # never forced: no call stays an answer
    assert "tools" not in LiteLLMLM().request_kwargs(LMRequest.chat("openai/x", [{"role": "user", "content": "h"}]))
    call = SimpleNamespace(function=SimpleNamespace(name="get_weather", arguments='{"city": "Paris"}'))
    response = SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=None, tool_calls=[call]))],
                               usage=None)
    litellm = SimpleNamespace(completion_cost=lambda **_: 0.0)
    assert json.loads(_to_completion(litellm, response, 0.1, True).text) == {
        "content": "", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}
    plain = SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content="hi", tool_calls=None))])
    assert _to_completion(litellm, plain, 0.1, False).text == "hi"


def test_tools_normalize_and_bad_ones_are_refused() -> None:
    assert normalize_tools([WEATHER["function"]]) == (WEATHER,)
    assert normalize_tools(json.dumps([WEATHER])) == (WEATHER,)
    for bad, why in (("{", "not valid JSON"), ({"a": 1}, "must be a list"), ([{"type": "function"}], "tool 0")):
        with pytest.raises(ValueError, match=why):
            normalize_tools(bad)


def test_a_dataset_tools_column_is_checked_and_reaches_the_example(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps({"input": "weather?", "target": "[]", "tools": [WEATHER["function"]]}) + "\n")
    example = load_dataset(path, metadata=["tools"]).examples[0]
    assert example.tools == (WEATHER,)
    assert load_dataset(path).examples[0].tools is None  # the column is only read when asked for
    path.write_text(json.dumps({"input": "weather?", "target": "[]", "tools": {"name": 3}}) + "\n")
    with pytest.raises(DatasetError, match="line 1: column 'tools'"):
        load_dataset(path, metadata=["tools"])


def fake_checker(verdicts: list[dict[str, Any]], seen: list[dict[str, Any]]) -> Any:
    def check(items: Any) -> list[dict[str, Any]]:
        seen.extend(items)
        return [verdicts.pop(0) for _ in items]

    return check


def test_rollouts_send_the_tools_store_the_calls_and_score_them(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    run_id = store.create_run("eval", "tools", {})
    lm = FakeLM([ToolReply("", (ToolCall("get_weather", {"city": "Paris"}),)), "plain answer"])
    seen: list[dict[str, Any]] = []
    scorer = BfclCalls(fake_checker([{"valid": True, "error": [], "error_type": ""}], seen))
    runner = RolloutRunner(lm, "fake/task", scorer, store, run_id, max_tokens=64)
    [result] = runner.run("You can call these functions.", [tool_example()], 0, "val")
    assert lm.calls[0].tools == (WEATHER,)
    assert read_reply(result.output) == ToolReply("", (ToolCall("get_weather", {"city": "Paris"}),))
    assert result.score == 1.0 and result.parsed == tool_example().target  # a right answer is its target
    assert seen[0]["calls"] == [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    assert seen[0]["functions"] == FUNCTIONS and seen[0]["category"] == "simple_python"
    assert store.rollouts(run_id)[0].output == result.output
    # an example without tools sends none, so its request key is the one it always had
    [plain] = runner.run("Answer.", [Example("p1", "hi", "hello")], 0, "val")
    assert lm.calls[1].tools is None and "tools" not in lm.calls[1].canonical()
    assert plain.score == 0.0 and plain.reason.startswith("malformed call")


@pytest.mark.parametrize(("error_type", "calls", "kind"), [
    ("simple_function_checker:wrong_func_name", 1, "wrong function"),
    ("simple_function_checker:missing_required", 1, "missing argument"),
    ("simple_function_checker:unexpected_param", 1, "unexpected argument"),
    ("type_error:simple", 1, "wrong type"),
    ("value_error:others", 1, "wrong value"),
    ("simple_function_checker:wrong_count", 0, "no call"),
    ("multiple_function_checker:wrong_count", 2, "wrong number of calls"),
    ("irrelevance_error:decoder_success", 1, "call when none fits"),
    ("ast_decoder:decoder_wrong_output_format", 1, "malformed call"),
    ("simple_function_checker:unclear", 1, "other"),
])
def test_checker_errors_become_kinds_named_in_the_reason(error_type: str, calls: int, kind: str) -> None:
    reply = ToolReply("", tuple(ToolCall("f", {}) for _ in range(calls)))
    assert error_kind(error_type, reply) == kind
    scorer = BfclCalls(fake_checker([{"valid": False, "error": ["Detail."], "error_type": error_type}], []))
    score = scorer(reply.as_text(), tool_example())
    assert score.value == 0.0 and score.reason == f"{kind}: Detail." and kind_of(score.reason) == kind
    assert score.parsed == ("+".join(["f"] * calls) or NO_CALL)


def test_no_call_passes_irrelevance_and_missing_metadata_is_a_reason() -> None:
    scorer = make_scorer("bfcl")
    assert isinstance(scorer, BfclCalls)
    passing = BfclCalls(fake_checker([{"valid": True, "error": [], "error_type": ""}], []))
    score = passing(ToolReply("No function fits.").as_text(), tool_example("[]", "irrelevance"))
    assert (score.value, score.reason, score.parsed) == (1.0, "no call, as expected", "[]")
    bare = passing(ToolReply("").as_text(), Example("x", "q", "[]"))
    assert bare.value == 0.0 and "metadata columns 'functions' and 'category'" in bare.reason
    assert kind_of("the calls pass BFCL's checker") is None


def test_the_judge_sees_the_tools_and_the_check_only_for_tool_examples() -> None:
    judge = ExplanatoryJudge(FakeLM([]), "fake/judge")
    with_tools = judge.prompt("Sys.", tool_example(), '{"content": "", "tool_calls": []}',
                              "no call: Wrong number of functions.")
    assert '"get_weather"' in with_tools and "no call: Wrong number of functions." in with_tools
    assert "What the automatic check of the calls found" in with_tools
    plain = judge.prompt("Sys.", Example("p", "hi", "hello"), "hello")
    assert "Functions the model could call" not in plain and "automatic check" not in plain


def test_the_gates_collapse_check_sees_right_no_calls_as_targets_and_wrong_ones_as_a_collapse() -> None:
    from promptlearn.optimize.gate import label_collapse

    scorer = BfclCalls(lambda items: [{"valid": item["answer"] == "[]", "error": ["Wrong number of functions."],
                                       "error_type": "simple_function_checker:wrong_count"} for item in items])
    no_call = ToolReply("None of these fit.").as_text()
    irrelevance = [tool_example("[]", "irrelevance") for _ in range(10)]
    simple = [tool_example() for _ in range(10)]
    right = [scorer(no_call, e).parsed for e in irrelevance]
    wrong = [scorer(no_call, e).parsed for e in simple]
    assert label_collapse(right, [e.target for e in irrelevance], 0.9) is None
    assert "collapsed onto '(no call)'" in str(label_collapse(wrong, [e.target for e in simple], 0.9))


def test_a_chat_template_without_tools_gets_them_in_the_system_turn() -> None:
    from promptlearn.lm.local import messages_with_tools, template_renders_tools

    qwen = SimpleNamespace(metadata={"tokenizer.chat_template": "{%- if tools %}<tools>{% endif %}"})
    plain = SimpleNamespace(metadata={"tokenizer.chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"})
    assert template_renders_tools(qwen, None) and not template_renders_tools(plain, None)
    assert not template_renders_tools(qwen, "chatml")  # a named chat format ignores tools
    messages = [{"role": "system", "content": "Sys."}, {"role": "user", "content": "Weather?"}]
    written = messages_with_tools(messages, [WEATHER])
    assert written[0]["content"].startswith("Sys.\n\n# Tools") and json.dumps(WEATHER) in written[0]["content"]
    assert '{"name": <function-name>, "arguments": <args-json-object>}' in written[0]["content"]
    assert written[1:] == messages[1:] and messages[0]["content"] == "Sys."
    assert messages_with_tools(messages[1:], [WEATHER])[0]["content"].startswith("# Tools")


def test_auto_picks_the_bfcl_scorer_only_for_examples_with_tools_and_checker_columns() -> None:
    from promptlearn.data import Dataset, default_scorer_for

    tools = Dataset("t", (tool_example(), tool_example("[]", "irrelevance")), "x")
    assert isinstance(default_scorer_for(tools), BfclCalls)
    half = Dataset("h", (tool_example(), Example("p", "hi", "[]", {"tools": [WEATHER]})), "x")
    assert not isinstance(default_scorer_for(half), BfclCalls)
