from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from promptlearn.cli.main import app
from promptlearn.report import gather, render, write_report
from promptlearn.report.charts import nice_ticks
from promptlearn.report.html import script_json
from promptlearn.store import Store
from tests.fakes_task import GOOD_RULE
from tests.report.conftest import CRITIQUE, make_run


def test_gather_collects_scores_gate_decisions_and_evidence(stored_run: tuple[Store, str]) -> None:
    store, run_id = stored_run
    data = gather(store, run_id)
    json.dumps(data)  # JSON-able as a whole
    assert [(v["number"], v["status"]) for v in data["timeline"]] == [(0, "seed"), (1, "rejected"), (2, "accepted")]
    rejected, accepted = data["timeline"][1]["gate"], data["timeline"][2]["gate"]
    assert not rejected["accepted"] and "collapsed" in rejected["reason"]
    assert accepted["accepted"] and accepted["n"] == 20 and accepted["low"] > 0 and 0 < accepted["p"] < 0.05
    series = data["series"]
    assert [p["version"] for p in series["test"]] == [0, 2] and series["test"][1]["mean"] == 1.0
    assert [p["x"] for p in series["val"]] == [0, 1, 2, 3] and all(p["low"] <= p["mean"] <= p["high"]
                                                                   for p in series["val"])
    assert [(c["version"], c["accepted"]) for c in series["candidates"]] == [(1, False), (2, True)]
    assert series["train"] and series["train"][0]["x"] == 1


def test_a_bullet_resolves_to_the_critiqued_rollouts_it_cites(stored_run: tuple[Store, str]) -> None:
    data = gather(*stored_run)
    (bullet,) = data["final_playbook"]["bullets"]
    assert bullet["text"] == GOOD_RULE and bullet["refs"]
    assert data["timeline"][2]["deltas"][0]["refs"] == bullet["refs"]
    for ref in bullet["refs"]:
        evidence = data["evidence"][ref]
        assert evidence["split"] == "train" and evidence["input"].startswith("ticket ")
        assert [c["critique"] for c in evidence["critiques"]] == [CRITIQUE]


def test_wins_losses_trust_failure_modes_and_usage(stored_run: tuple[Store, str]) -> None:
    store, run_id = stored_run
    data = gather(store, run_id)
    summary = json.loads(store.get_run(run_id).summary_json)
    assert len(data["examples"]["wins"]) == summary["test_diff"]["wins"] > 0
    assert len(data["examples"]["losses"]) == summary["test_diff"]["losses"]
    assert data["trust"]["all"]["n"] == len(store.critiques(run_id))
    assert dict(data["failure_modes"])["wrong_format"] > 0
    usage = data["usage"]
    assert usage["calls"] == store.call_stats(run_id)["calls"] and usage["points"][-1]["tokens"] == usage["tokens"]
    assert {name.split(" ")[-1] for name in usage["by_model"]} == {"(task)", "(judge)", "(rewriter)"}


def test_untrusted_text_is_escaped_in_html_and_in_the_embedded_json(tmp_path: Path) -> None:
    rule = "<script>alert(1)</script>"
    critique = "</script><script>alert(2)</script><!-- & -->"
    store, run_id = make_run(tmp_path, rule=rule, critique=critique, gate={"method": "none"})
    data = gather(store, run_id)
    assert any(b["text"] == rule for b in data["final_playbook"]["bullets"])
    html = render(data)
    assert "alert(1)</script>" not in html and "<script>alert" not in html and "<!--" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == html.count("</script>") == 2  # only the report's own data and code
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert embedded
    parsed = json.loads(embedded.group(1))
    assert rule in [b["text"] for b in parsed["final_playbook"]["bullets"]]
    assert any(c["critique"] == critique for ev in parsed["evidence"].values() for c in ev["critiques"])


def test_script_json_round_trips() -> None:
    value = {"a": "</script>&<!--", "b": [1, 2.5, None]}
    assert json.loads(str(script_json(value))) == value and "<" not in script_json(value)


def test_the_report_works_for_a_run_without_candidates(tmp_path: Path) -> None:
    from promptlearn import evaluate
    from promptlearn.lm import FakeLM
    from tests.fakes_task import task_answer, write_dataset

    store = Store(str(tmp_path / "db.sqlite"))
    result = evaluate(str(write_dataset(tmp_path / "t.jsonl", 8)), "Route.", "fake/task", "exact", store=store,
                      lm=FakeLM(task_answer))
    assert result.run_id is not None
    path = write_report(store, result.run_id, tmp_path / "eval.html")
    assert f"Run {result.run_id}" in path.read_text()


def test_cli_report_writes_the_file_and_fails_in_one_line(stored_run: tuple[Store, str], tmp_path: Path) -> None:
    store, run_id = stored_run
    out = tmp_path / "sub" / "r.html"
    ok = CliRunner().invoke(app, ["report", run_id[:6], "--out", str(out), "--db", store.url])
    assert ok.exit_code == 0, ok.output
    assert out.read_text().startswith("<!DOCTYPE html>")
    bad = CliRunner().invoke(app, ["report", "nosuchrun", "--out", str(out), "--db", store.url])
    assert bad.exit_code == 2 and "no run 'nosuchrun'" in bad.output and "Traceback" not in bad.output


def test_nice_ticks() -> None:
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 12345)[-1] == 10000 and nice_ticks(0, 0.003)[1] == 0.001
