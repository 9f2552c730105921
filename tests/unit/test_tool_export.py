"""A prompt tuned for tool calls exports with the tools its run offered the model, and --verify sends them."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from promptlearn import evaluate
from promptlearn.data import bfcl, load_dataset
from promptlearn.export import export_playbook, load_tools, verify_export
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.store import Store
from promptlearn.toolcalls import ToolCall, ToolReply
from tests.bench.test_tools import WEATHER, fake_check, write_calls

CLOCK = {"type": "function", "function": {"name": "get_time", "description": "Local time in a city.",
                                          "parameters": {"type": "object", "properties": {}}}}


def caller(request: LMRequest) -> ToolReply:
    city = request.messages[-1][1].split("weather in ", 1)[1].split(" today", 1)[0]
    return ToolReply("", (ToolCall("get_weather", {"city": city}),))


@pytest.fixture
def tool_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, str]:
    monkeypatch.setattr(bfcl, "check", fake_check)
    path = write_calls(tmp_path / "weather.jsonl", n=6)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[-1]["tools"] = [WEATHER, CLOCK]  # a second tool on one example: listed once, after the first
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = Store(str(tmp_path / "db.sqlite"))
    dataset = load_dataset(path, id="id", metadata=bfcl.METADATA)
    result = evaluate(dataset, "You can call these functions.", "fake/task", "bfcl", lm=FakeLM(caller), store=store)
    assert result.accuracy.estimate == 1.0 and result.run_id
    return store, result.run_id


def test_the_json_markdown_and_dspy_exports_carry_the_tools(tool_run: tuple[Store, str], tmp_path: Path) -> None:
    store, run_id = tool_run
    doc = json.loads(export_playbook(store, run_id, "json"))
    assert doc["tools"] == [WEATHER, CLOCK]
    path = tmp_path / "prompt.json"
    path.write_text(json.dumps(doc))
    assert load_tools(path) == [WEATHER, CLOCK]
    markdown = export_playbook(store, run_id, "markdown")
    assert "## Tools" in markdown and "`get_weather`, `get_time`" in markdown
    snippet = export_playbook(store, run_id, "dspy")
    ast.parse(snippet)
    namespace: dict[str, Any] = {"json": json}
    exec(next(line for line in snippet.splitlines() if line.startswith("TOOLS = ")), namespace)
    assert namespace["TOOLS"] == [WEATHER, CLOCK]


def test_a_plain_export_has_no_tools(tmp_path: Path) -> None:
    from tests.fakes_task import write_dataset

    store = Store(str(tmp_path / "db.sqlite"))
    result = evaluate(str(write_dataset(tmp_path / "t.jsonl", 4)), "Route.", "fake/task", "exact",
                      lm=FakeLM(lambda _r: "BUG"), store=store)
    assert result.run_id
    assert "tools" not in json.loads(export_playbook(store, result.run_id, "json"))
    assert "## Tools" not in export_playbook(store, result.run_id, "markdown")
    assert "TOOLS" not in export_playbook(store, result.run_id, "dspy")
    path = tmp_path / "p.json"
    path.write_text(export_playbook(store, result.run_id, "json"))
    assert load_tools(path) == []


def test_verify_sends_the_tools_with_the_exported_prompt(tool_run: tuple[Store, str]) -> None:
    store, run_id = tool_run
    lm = FakeLM(caller)
    report = verify_export(store, run_id, "json", lm=lm)
    # The same requests as the run's, tools included (the key holds them), so the store answers every one.
    assert report["exported"] == 1.0 and lm.calls == []
    keys = {r.lm_call_key for r in store.rollouts(run_id)}
    assert keys == {r.lm_call_key for r in store.rollouts(report["eval_run_id"])}
