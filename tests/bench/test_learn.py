"""The learn preset's machinery: peers' results reused by fingerprint, checkpoints of the one run, and the table."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from promptlearn.bench import ARMS, BenchTask, peer_cache, run_bench
from promptlearn.bench.arms import checkpoint_versions
from promptlearn.lm import FakeLM, LMRequest
from tests.bench.fakes import MODELS, make_task, world


def no_calls(request: LMRequest) -> str:
    raise AssertionError(f"unexpected LM call to {request.model}")


def test_a_peer_result_is_reused_while_its_fingerprint_matches(tmp_path: Path) -> None:
    task = make_task(tmp_path)
    folder = tmp_path / "peers"
    first = run_bench([task], ["gepa"], [0], 30, MODELS, "one", lm_inner=world(), out_dir=tmp_path,
                      peer_cache=folder)
    stored = json.loads(peer_cache.cache_path(folder, task, "gepa").read_text())
    assert stored["fingerprint"] == peer_cache.fingerprint(peer_cache.fingerprint_inputs(task, "gepa", 30))
    assert len(stored["test"]) == task.test and stored["inputs"]["libraries"]["dspy"] != "absent"
    # A fresh store (a fresh clone) with the peer's file: GEPA is not run again, its figures are the same.
    fresh = replace(task, db=str(tmp_path / "fresh.db"))
    calls: list[LMRequest] = []
    only_seed = FakeLM(lambda r: (calls.append(r), world().complete(r).text)[1])
    again = run_bench([fresh], ["gepa"], [0], 30, MODELS, "two", lm_inner=only_seed, out_dir=tmp_path,
                      peer_cache=folder)
    gepa = [r for r in again["results"] if r["arm"] == "gepa"][0]
    was = [r for r in first["results"] if r["arm"] == "gepa"][0]
    assert (gepa["accuracy"], gepa["rollouts"], gepa["reflection_calls"]) == (
        was["accuracy"], was["rollouts"], was["reflection_calls"])
    assert len(calls) == task.test  # only the seed arm's test scoring ran
    assert "reused_from" in [r for r in again["runs"] if r["arm"] == "gepa"][0]["notes"]


def test_a_changed_setting_reruns_the_peer(tmp_path: Path) -> None:
    task = make_task(tmp_path)
    folder = tmp_path / "peers"
    run_bench([task], ["gepa"], [0], 30, MODELS, "one", lm_inner=world(), out_dir=tmp_path, peer_cache=folder)
    assert peer_cache.load(folder, task, "gepa", 30) is not None
    assert peer_cache.load(folder, task, "gepa", 40) is None  # another budget
    assert peer_cache.load(folder, replace(task, system_prompt="Other."), "gepa", 30) is None
    assert peer_cache.load(folder, replace(task, seed=1), "gepa", 30) is None
    peer_cache.cache_path(folder, task, "gepa").write_text("{broken")
    assert peer_cache.load(folder, task, "gepa", 30) is None


def test_checkpoints_are_the_version_accepted_by_then(tmp_path: Path) -> None:
    task: BenchTask = make_task(tmp_path, train=8, val=6, test=10)
    result = ARMS["promptlearn"](task, 60, world())
    store = task.store()
    run_id = result.run_ids[0]
    accepted = [v.number for v in store.versions(run_id) if v.status == "accepted"]
    assert accepted  # the fake world's rule is learned in the first iteration
    points = checkpoint_versions(store, run_id, (6, 59))
    assert points[6] == 0  # after the seed's validation pass nothing was accepted yet
    assert points[59] == accepted[-1]
    learned = ARMS["promptlearn"](task, 60, FakeLM(no_calls))  # replayed from the store
    assert learned.checkpoints == {50: learned.checkpoints[50]}
    assert learned.checkpoints[50].accuracy.estimate == 1.0


def test_the_table_shows_majority_answers_reflection_and_checkpoints(tmp_path: Path) -> None:
    task = make_task(tmp_path)
    data = run_bench([task], ["promptlearn"], [0], 60, MODELS, "t", lm_inner=world(), out_dir=tmp_path)
    table = (tmp_path / "t.md").read_text()
    row = [r for r in data["results"] if r["arm"] == "promptlearn"][0]
    assert row["checkpoints"] and row["checkpoints"][0]["rollouts"] == 50
    assert row["reflection_calls"] > 0 and row["reflection_tokens"] > 0
    line = [x for x in table.splitlines() if x.startswith("| tickets | promptlearn |")][0]
    assert "50: 1.000" in line and "unparsed 0%" in line
    seed_line = [x for x in table.splitlines() if x.startswith("| tickets | seed |")][0]
    assert "(below majority)" in seed_line  # the chatty seed scores under always-the-most-common-label


def test_the_summary_table_has_one_row_per_task_and_the_majority(tmp_path: Path) -> None:
    task = make_task(tmp_path)
    run_bench([task], ["promptlearn"], [0], 60, MODELS, "s", lm_inner=world(), out_dir=tmp_path)
    table = (tmp_path / "s.md").read_text()
    assert "| task (majority) | seed | promptlearn |" in table
    row = [x for x in table.splitlines() if x.startswith("| tickets (")][0]
    assert "vs seed)" in row and "rollouts" in row and "refl." in row


def test_pooled_rows_pair_over_all_tasks(tmp_path: Path) -> None:
    tasks = [make_task(tmp_path, "tickets"), make_task(tmp_path, "orders", test=8)]
    data = run_bench(tasks, ["promptlearn", "gepa"], [0], 30, MODELS, "p", lm_inner=world(), out_dir=tmp_path)
    pooled = {r["arm"]: r for r in data["pooled"]}
    assert pooled["promptlearn"]["tasks"] == ["orders", "tickets"]
    assert pooled["promptlearn"]["diff_vs_seed"]["n"] == 18 and pooled["promptlearn"]["diff_vs_gepa"]["n"] == 18
    assert pooled["gepa"]["diff_vs_gepa"] is None
    assert "| promptlearn | 2 |" in (tmp_path / "p.md").read_text()


def test_stored_only_reports_what_has_run_and_runs_nothing_new(tmp_path: Path) -> None:
    task = make_task(tmp_path)
    run_bench([task], ["promptlearn"], [0], 60, MODELS, "a", lm_inner=world(), out_dir=tmp_path,
              peer_cache=tmp_path / "peers")
    data = run_bench([task], ["promptlearn", "gepa", "miprov2"], [0], 60, MODELS, "b", lm_inner=FakeLM(no_calls),
                     out_dir=tmp_path, peer_cache=tmp_path / "peers", stored_only=True)
    assert [r["arm"] for r in data["results"]] == ["seed", "promptlearn"]
    assert "not run" in (tmp_path / "b.md").read_text()  # GEPA and MIPROv2 are named, as not run
