"""The tools preset's machinery with fakes: every arm's task model gets each example's tools (promptlearn's loop and
GEPA through the seam), calls are scored by the bfcl scorer (its checker faked here), and the table counts the
kinds of error before and after."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptlearn.bench import BenchTask, get_preset, run_bench
from promptlearn.data import bfcl
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.toolcalls import ToolCall, ToolReply
from tests.bench.fakes import MODELS, TASK, dspy_fields, reflect_reply
from tests.fakes_task import GOOD_RULE

CITIES = ["Paris", "Oslo", "Lima", "Cairo", "Quito", "Hanoi", "Dakar", "Perth", "Turin", "Bern"]
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city.", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
FUNCTIONS = [{"name": "get_weather", "description": "Weather in a city.",
              "parameters": {"type": "dict", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


def write_calls(path: Path, n: int = 40) -> Path:
    rows = [{"id": f"w{i}", "input": f"What's the weather in {CITIES[i % 10]} today (ask {i})?",
             "target": json.dumps([{"get_weather": {"city": [CITIES[i % 10]]}}]), "tools": [WEATHER],
             "functions": FUNCTIONS, "category": "simple_python"} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def fake_check(items: Any) -> list[dict[str, Any]]:
    """Stands in for bfcl-eval's checker: the one expected call, with the city exactly as in the answer."""
    out = []
    for item in items:
        [expected] = json.loads(item["answer"])
        city = expected["get_weather"]["city"][0]
        calls = item["calls"]
        if not calls:
            out.append({"valid": False, "error": ["Wrong number of functions."],
                        "error_type": "simple_function_checker:wrong_count"})
        elif calls[0]["arguments"].get("city") != city:
            out.append({"valid": False, "error": [f"Invalid value for parameter 'city': {calls[0]['arguments']}."],
                        "error_type": "value_error:string"})
        else:
            out.append({"valid": True, "error": [], "error_type": ""})
    return out


def call_for(question: str, instructions: str) -> ToolReply:
    """Calls with the city as written when the instructions hold GOOD_RULE, else lower-cased (a wrong value)."""
    city = question.split("weather in ", 1)[1].split(" today", 1)[0]
    return ToolReply("", (ToolCall("get_weather", {"city": city if GOOD_RULE in instructions else city.lower()}),))


def world(seen: list[LMRequest]) -> FakeLM:
    def respond(request: LMRequest) -> str | ToolReply:
        if request.model != TASK:
            return reflect_reply(request)
        seen.append(request)
        system, user = request.messages[0][1], request.messages[-1][1]
        if dspy_fields(system):  # GEPA's program: the seam writes the calls into its answer field
            return call_for(user.split("[[ ## input ## ]]", 1)[1], system.split("your objective is:", 1)[-1])
        return call_for(user, system)

    return FakeLM(respond)


@pytest.fixture
def tool_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BenchTask:
    monkeypatch.setattr(bfcl, "check", fake_check)
    return BenchTask(dataset=str(write_calls(tmp_path / "weather.jsonl")), system_prompt="You can call these "
                     "functions.", train=8, val=6, test=10, scorer="bfcl", models=MODELS, db=str(tmp_path / "b.db"),
                     columns={"id": "id", "metadata": bfcl.METADATA})


def test_seed_promptlearn_and_gepa_learn_tool_calls_with_the_tools_sent(tool_task: BenchTask, tmp_path: Path) -> None:
    seen: list[LMRequest] = []
    data = run_bench([tool_task], ["promptlearn", "gepa"], [0], 30, MODELS, "tools-test", lm_inner=world(seen),
                     out_dir=tmp_path / "out")
    rows = {r["arm"]: r for r in data["results"]}
    assert rows["seed"]["accuracy"] == 0.0 and rows["seed"]["error_kinds"] == {"wrong value": 10}
    assert rows["promptlearn"]["accuracy"] == 1.0 and "error_kinds" not in rows["promptlearn"]
    assert rows["gepa"]["accuracy"] == 1.0 and rows["gepa"]["rollouts"] > 0
    assert seen and all(r.tools == (WEATHER,) for r in seen)  # every task-model call, ours and GEPA's
    assert any(dspy_fields(r.messages[0][1]) for r in seen) and any(not dspy_fields(r.messages[0][1]) for r in seen)
    table = (tmp_path / "out" / "tools-test.md").read_text()
    assert "## Errors by kind" in table and "| weather | seed | 10 |" in table and "| weather | gepa | 0 |" in table
    assert rows["seed"]["answers"] == {"get_weather": 10}  # the functions called, as answer labels


def test_the_tools_preset_runs_bfcl_categories_apart_from_the_learn_mean() -> None:
    preset = get_preset("tools")
    assert [t.dataset for t in preset.tasks] == ["bfcl:simple_python", "bfcl:multiple", "bfcl:irrelevance"]
    assert preset.arms == ("promptlearn", "gepa") and preset.out_name == "tools" and preset.reuse_peers
    for task in preset.tasks:
        config = task.config("promptlearn", preset.budget)
        assert task.system_prompt == "You can call these functions." and config.scorer == "bfcl"
        assert config.dataset.metadata == ["tools", "functions", "category"] and config.dataset.id == "id"
    # Sized from the measured seconds of a call with tools (about 11 s here), not the plain 2.5 s: an hour a category.
    assert preset.estimate_s() > 3 * 3600 * 0.9
    assert not any(t.dataset.startswith("bfcl:") for t in get_preset("cpu").tasks)


def test_a_plain_task_config_is_unchanged_by_the_columns_field(tmp_path: Path) -> None:
    plain = BenchTask(dataset="x.jsonl")
    assert set(plain.config("a", 5).model_dump()["dataset"]) >= {"path", "train", "val", "test"}
    assert plain.config("a", 5) == BenchTask(dataset="x.jsonl", columns={}).config("a", 5)
    tools_dump = BenchTask(dataset="x.jsonl", columns={"metadata": ["tools"]}).config("a", 5).dataset
    assert tools_dump.metadata == ["tools"]


def test_a_peers_fingerprint_covers_the_tools_and_a_plain_tasks_is_unchanged(tool_task: BenchTask,
                                                                              tmp_path: Path) -> None:
    from promptlearn.bench.peer_cache import fingerprint_inputs
    from tests.bench.fakes import make_task

    first = fingerprint_inputs(tool_task, "gepa", 30)
    rows = [json.loads(line) for line in Path(tool_task.dataset).read_text().splitlines()]
    for row in rows:
        row["tools"][0]["function"]["description"] = "The weather, now."
    Path(tool_task.dataset).write_text("".join(json.dumps(r) + "\n" for r in rows))
    second = fingerprint_inputs(tool_task, "gepa", 30)
    assert "tools" in first and first["tools"] != second["tools"] and first["splits"] == second["splits"]
    (tmp_path / "plain").mkdir()
    assert "tools" not in fingerprint_inputs(make_task(tmp_path / "plain"), "gepa", 30)


def test_gepas_answer_field_holds_the_calls_and_calls_written_as_text_count() -> None:
    from promptlearn.bench.seam import answer_field
    from promptlearn.toolcalls import read_reply

    def field(text: str) -> str:
        return answer_field(text).split("[[ ## answer ## ]]\n", 1)[1].split("\n\n[[ ## completed ## ]]", 1)[0]

    called = ToolReply("", (ToolCall("get_weather", {"city": "Oslo"}),))
    assert read_reply(field(called.as_text())) == called
    written = ToolReply('[[ ## answer ## ]]\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n'
                        "[[ ## completed ## ]]")
    assert read_reply(field(written.as_text())) == called  # the same rule as the embedded model's bare JSON
    prose = ToolReply("[[ ## answer ## ]]\nIt is sunny in Oslo.")
    assert read_reply(field(prose.as_text())) == prose
