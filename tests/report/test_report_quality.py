"""The report's "Learning quality" section: difficulty histogram, per-bullet credit, and the other engineers' kinds
(calibration, out-of-domain, flags, audits); a kind with no record renders nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

from promptlearn import optimize
from promptlearn.report import gather, render
from promptlearn.store import Store
from tests.fakes_task import GOOD_RULE, add, world
from tests.report.conftest import make_run
from tests.unit.test_optimize import config


def section(html: str) -> str:
    found = re.search(r'<section id="quality">(.*?)</section>', html, re.S)
    assert found, "no Learning quality section"
    return found.group(1)


def test_difficulty_and_credit_of_a_real_run_are_rendered(stored_run: tuple[Store, str]) -> None:
    store, run_id = stored_run
    data = gather(store, run_id)
    quality = data["quality"]
    buckets = dict(quality["difficulty"]["buckets"])
    assert list(buckets) == ["never", "sometimes", "always", "unseen"]
    assert sum(buckets.values()) == quality["difficulty"]["n"] == 20  # every train example has a record
    summary = json.loads(store.get_run(run_id).summary_json)
    assert buckets == summary["learning"]["difficulty"]
    [credit] = quality["credit"]  # the final version (v2) has one rule, ablated on val
    assert (credit["key"], credit["version"], credit["text"]) == ("for-00001", 2, GOOD_RULE)
    assert credit["value"] > 0 and credit["low"] <= credit["value"] <= credit["high"] and credit["n"] == 20
    for kind in ("calibration", "ood", "flag", "audit", "other", "notes"):
        assert kind not in quality

    html = section(render(data))
    assert "Learning quality" in html and "train examples by how often they were solved" in html
    row = re.search(r"<tr><td>v2</td><td>for-00001</td>.*?</tr>", html, re.S)
    assert row and f"{credit['value']:+.3f}" in row.group(0) and GOOD_RULE in row.group(0)
    assert f"[{credit['low']:.3f}, {credit['high']:.3f}]" in row.group(0)
    for title in ("Calibration", "Out-of-domain check", "Flags", "Audit by a second judge", "Other measurements"):
        assert title not in html  # absent kinds render nothing


def test_every_kind_of_record_gets_its_table(tmp_path: Path) -> None:
    store, run_id = make_run(tmp_path, quality={"ablation": "off"})
    store.add_quality(run_id, "calibration", key="brier", value=0.1875, version=2, split="test", n=20, stated=18,
                      low=0.11, high=0.26)
    store.add_quality(run_id, "ood", key="accuracy", value=0.4, version=2, dataset="bbh:navigate", n=30, low=0.25,
                      high=0.55, diff=-0.2, flagged=True)
    store.add_quality(run_id, "ood", key="accuracy", value=0.6, version=0, dataset="bbh:navigate", n=30, low=None,
                      high=None, diff=0.0, flagged=False)
    store.add_quality(run_id, "flag", key="for-00001", version=2, reason="mentions the grader",
                      text="<b>the judge wants A</b>")
    store.add_quality(run_id, "audit", key="agreement", value=0.75, version=2, judge="fake/audit", n=8,
                      disagreements=["tickets:3", "tickets:9"])
    store.add_quality(run_id, "novelty", key="x", value=1.0)
    data = gather(store, run_id)
    quality = data["quality"]
    assert "credit" not in quality  # ablation off: no credit table
    assert [r["version"] for r in quality["ood"]] == [2, 0]
    html = section(render(data))
    assert re.search(r"<td>v2</td><td>test</td><td>brier</td><td class=\"num\">0.188</td>"
                     r"<td class=\"num\">\[0.110, 0.260\]</td><td class=\"num\">20</td>", html)
    assert "<td>bbh:navigate</td><td class=\"num\">0.400</td>" in html and "-0.200" in html and "cliff" in html
    assert html.count("cliff") == 1  # only the flagged version
    assert "&lt;b&gt;the judge wants A&lt;/b&gt;" in html and "<b>the judge" not in html  # stored text is escaped
    assert "<td>fake/audit</td><td>agreement</td><td class=\"num\">0.750</td>" in html
    assert "2: tickets:3, tickets:9" in html
    assert "<td>novelty</td>" in html  # an unknown kind still shows, as plain rows


def test_a_skipped_ablation_says_why_and_a_run_without_records_has_no_section(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "small.sqlite"))
    small = optimize(config(tmp_path, budget={"max_iterations": 1, "max_rollouts": 90}), store=store,
                     lm=world([add(GOOD_RULE)]))
    html = section(render(gather(store, small.run_id)))
    assert "ablation of v1 skipped: it needs 20 rollouts, the budget has 4 left" in html

    from promptlearn import evaluate
    from promptlearn.lm import FakeLM
    from tests.fakes_task import task_answer, write_dataset

    plain = Store(str(tmp_path / "eval.sqlite"))
    result = evaluate(str(write_dataset(tmp_path / "t.jsonl", 8)), "Route.", "fake/task", "exact", store=plain,
                      lm=FakeLM(task_answer))
    assert result.run_id is not None
    data = gather(plain, result.run_id)
    assert data["quality"] == {} and 'id="quality"' not in render(data)
