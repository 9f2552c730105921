"""run_bench: every arm and task in the JSON and the Markdown table, plots, and a rerun served by the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlearn.bench import ARMS, run_bench
from promptlearn.errors import ConfigError
from promptlearn.lm import FakeLM, LMRequest
from tests.bench.fakes import MODELS, make_task, world


def no_calls(request: LMRequest) -> str:
    raise AssertionError(f"unexpected LM call to {request.model}: the rerun should be served by the store")


@pytest.fixture
def bench(tmp_path: Path) -> tuple[dict, list, Path]:  # type: ignore[type-arg]
    tasks = [make_task(tmp_path, "tickets"), make_task(tmp_path, "orders", test=8)]
    out = tmp_path / "results"
    data = run_bench(tasks, list(ARMS), [0], 30, MODELS, "peers-test", lm_inner=world(), out_dir=out)
    return data, tasks, out


def test_outputs_have_every_arm_and_task(bench) -> None:  # type: ignore[no-untyped-def]
    data, _tasks, out = bench
    saved = json.loads((out / "peers-test.json").read_text())
    assert saved["tasks"] == ["tickets", "orders"] and saved["arms"] == list(ARMS)
    cells = {(row["task"], row["arm"]) for row in saved["results"]}
    assert cells == {(t, a) for t in ("tickets", "orders") for a in ARMS}
    for row in saved["results"]:
        assert 0 <= row["low"] <= row["accuracy"] <= row["high"] <= 1
        # Ours stop at the budget; GEPA checks it between iterations; MIPROv2 light is not held to it.
        limit = {"gepa": 30 + 2 * 6 + 10, "miprov2": 10**6}.get(row["arm"], 30)
        assert row["rollouts"] <= limit and row["tokens"] > 0 and row["overhead_s"] >= 0 and row["playbook_tokens"] > 0
        if row["arm"] != "seed":
            assert row["diff_vs_seed"]["n"] == row["n"]
        assert (row["diff_vs_gepa"] is None) == (row["arm"] in ("seed", "gepa"))
        assert (row["diff_vs_miprov2"] is None) == (row["arm"] in ("seed", "miprov2"))
    learned = {r["arm"]: r for r in saved["results"] if r["task"] == "tickets"}
    assert learned["seed"]["accuracy"] < 0.5 and learned["promptlearn"]["accuracy"] == 1.0
    assert learned["promptlearn"]["diff_vs_seed"]["low"] > 0
    assert {(p["task"], p["arm"]) for p in saved["points"]} == cells
    pooled = {r["arm"]: r for r in saved["pooled"]}
    tested = sum(r["n"] for r in saved["results"] if r["arm"] == "miprov2")
    assert pooled["promptlearn"]["diff_vs_miprov2"]["n"] == tested and pooled["miprov2"]["diff_vs_miprov2"] is None
    table = (out / "peers-test.md").read_text()
    assert "| vs GEPA | vs MIPROv2 |" in table and "pooled vs MIPROv2" in table
    for task in ("tickets", "orders"):
        for arm in ARMS:
            assert f"| {task} | {arm} |" in table
    assert data["plots"] and all(Path(p).exists() and Path(p).stat().st_size > 0 for p in data["plots"])
    assert len(data["plots"]) == 2


def test_a_rerun_on_the_same_store_makes_no_new_lm_call(bench) -> None:  # type: ignore[no-untyped-def]
    data, tasks, out = bench
    again = run_bench(tasks, list(ARMS), [0], 30, MODELS, "peers-rerun", lm_inner=FakeLM(no_calls), out_dir=out)
    fields = ("task", "arm", "accuracy", "low", "high", "rollouts", "tokens", "lm_seconds", "wall_s",
              "reflection_calls", "reflection_tokens")
    assert [[r[f] for f in fields] for r in again["results"]] == [[r[f] for f in fields] for r in data["results"]]
    assert all(r["notes"].get("replayed") for r in again["runs"])  # costs are those recorded when it ran


def test_a_curve_over_budgets_and_a_subset_of_arms(tmp_path: Path) -> None:
    task = make_task(tmp_path)
    data = run_bench([task], ["gepa"], [0, 1], [14, 24], MODELS, "curve", lm_inner=world(), out_dir=tmp_path)
    assert data["arms"] == ["seed", "gepa"]  # the seed prompt is always the baseline
    gepa = [r for r in data["results"] if r["arm"] == "gepa"]
    assert [r["budget"] for r in gepa] == [14, 24] and all(r["seeds"] == [0, 1] for r in gepa)
    assert all(r["n"] == 2 * task.test for r in gepa)  # two seeds pooled, paired by (seed, example)
    assert len([p for p in data["points"] if p["arm"] == "gepa"]) == 4


def test_bad_arguments_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown: nope"):
        run_bench([make_task(tmp_path)], ["nope"], [0], 10, MODELS, "x", out_dir=tmp_path)
    with pytest.raises(ConfigError):
        run_bench([make_task(tmp_path)], ["seed"], [0], 0, MODELS, "x", out_dir=tmp_path)


OPTIMIZE_VERSIONS = "select count(*) from playbook_version v join run r on r.id = v.run_id where r.kind = 'optimize'"


def test_a_finished_run_is_reported_from_the_store_not_replayed(tmp_path: Path) -> None:
    """Code that now asks the reflection model other questions (a changed prompt: here, its cached replies gone)
    must not re-run a finished run: that would call models and could add versions to a run that ended."""
    import sqlite3

    task = make_task(tmp_path, "tickets")
    out = tmp_path / "results"
    first = run_bench([task], ["seed", "promptlearn"], [0], 30, MODELS, "first", lm_inner=world(), out_dir=out)
    with sqlite3.connect(task.db) as db:  # type: ignore[arg-type]
        versions = db.execute(OPTIMIZE_VERSIONS).fetchone()
        db.execute("delete from lm_call where model = 'fake/reflect'")
    again = run_bench([task], ["seed", "promptlearn"], [0], 30, MODELS, "again", lm_inner=FakeLM(no_calls), out_dir=out)
    assert [r["accuracy"] for r in again["results"]] == [r["accuracy"] for r in first["results"]]
    with sqlite3.connect(task.db) as db:  # type: ignore[arg-type]
        assert db.execute(OPTIMIZE_VERSIONS).fetchone() == versions


def test_a_finished_run_reports_its_own_cost_not_one_recorded_for_an_earlier_run_of_its_cell(tmp_path: Path) -> None:
    """The bbh row once showed 14 reflection calls where its run had made 27: the cost recorded for the cell came
    from an earlier run of it, set aside when the cell was run again."""
    import sqlite3

    task = make_task(tmp_path, "tickets")
    out = tmp_path / "results"
    first = run_bench([task], ["seed", "promptlearn"], [0], 30, MODELS, "first", lm_inner=world(), out_dir=out)
    made = next(r for r in first["results"] if r["arm"] == "promptlearn")
    assert made["reflection_calls"] > 0
    stale = json.dumps({"tokens": 1, "lm_seconds": 1.0, "wall_s": 1.0, "reflection_calls": 999,
                        "reflection_tokens": 999, "run_ids": ["an-earlier-run"]})
    with sqlite3.connect(task.db) as db:  # type: ignore[arg-type]
        db.execute("update run set summary_json = ? where kind = 'bench' and name like 'cost-promptlearn-%'",
                   (stale,))
    again = run_bench([task], ["seed", "promptlearn"], [0], 30, MODELS, "again", lm_inner=FakeLM(no_calls), out_dir=out)
    row = next(r for r in again["results"] if r["arm"] == "promptlearn")
    assert (row["reflection_calls"], row["reflection_tokens"]) == (made["reflection_calls"], made["reflection_tokens"])
