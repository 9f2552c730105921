"""promptlearn's loop on a tool task (FakeLM tool calls): the checker's error and the tools reach the judge and the
rewriter, no worked example is proposed (a call is not a text turn), and the learned rule is accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptlearn import optimize, preset
from promptlearn.data import bfcl
from promptlearn.lm import LMRequest
from promptlearn.store import Store
from tests.bench.test_tools import fake_check, world, write_calls


def test_the_loop_learns_a_tool_rule_from_the_checkers_feedback(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bfcl, "check", fake_check)
    data = write_calls(tmp_path / "weather.jsonl", n=60)
    config = preset("quick", dataset={"path": str(data), "train": 20, "val": 20, "test": 20, "id": "id",
                                      "metadata": bfcl.METADATA},
                    scorer="bfcl", system_prompt="You can call these functions.",
                    budget={"max_iterations": 2, "patience": 5},
                    learn={"batch_size": 10, "max_failures": 3, "explain": True},
                    models={"task": "fake/task", "judge": "fake/reflect", "rewriter": "fake/reflect"})
    seen: list[LMRequest] = []
    lm = world(seen)
    events: list[tuple[str, dict[str, Any]]] = []
    result = optimize(config, store=Store(str(tmp_path / "db.sqlite")), lm=lm,
                      on_event=lambda kind, data: events.append((kind, data)))
    assert result.seed_test.accuracy.estimate == 0.0 and result.final_test.accuracy.estimate == 1.0
    assert all(r.tools is not None for r in seen)
    judged = [c.messages[-1][1] for c in lm.calls if "failure_mode" in (c.json_schema or {}).get("properties", {})]
    assert judged and all("wrong value: Invalid value for parameter 'city'" in p and '"get_weather"' in p
                          for p in judged)
    rewrites = [c.messages[-1][1] for c in lm.calls if "deltas" in (c.json_schema or {}).get("properties", {})]
    assert rewrites and "Check of the calls:" in rewrites[0] and "wrong value:" in rewrites[0]
    assert not any(d.get("origin") == "examples" for k, d in events if k == "screen")
