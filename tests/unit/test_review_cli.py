"""Review from the command line: a run under gate.review stops on a pending candidate; `promptlearn review RUN`
lists it and decides; the resumed run goes on from the decision."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from promptlearn import optimize
from promptlearn.cli.main import app
from promptlearn.playbook import Playbook
from promptlearn.store import Store
from tests.fakes_task import GOOD_RULE, add, world
from tests.unit.test_optimize import config

runner = CliRunner()


def paused_run(tmp_path: Path) -> tuple[Store, str, str]:
    db = str(tmp_path / "db.sqlite")
    store = Store(db)
    cfg = config(tmp_path, budget={"max_iterations": 1}, gate={"review": True})
    result = optimize(cfg, store=store, lm=world([add(GOOD_RULE)]))
    assert "waits for review" in result.stop_reason
    return store, result.run_id, db


def test_review_lists_the_pending_candidate_and_accepts_it(tmp_path: Path) -> None:
    store, run_id, db = paused_run(tmp_path)
    listed = runner.invoke(app, ["review", run_id, "--db", db])
    assert listed.exit_code == 0, listed.output
    assert "v1 (against v0, iteration 1): gain +" in listed.output
    assert f"add [formatting]: {GOOD_RULE}" in listed.output
    assert "val: " in listed.output and " wins [" in listed.output and "0 losses []" in listed.output
    assert "answers: v0 {" in listed.output and "'BILLING'" in listed.output

    data = json.loads(runner.invoke(app, ["review", run_id, "--db", db, "--json"]).output)
    [item] = data
    assert item["version"] == 1 and len(item["wins"]) == round(item["gate"]["n"] * item["gate"]["diff"]) > 0
    assert item["losses"] == [] and item["answers"]["candidate"] != item["answers"]["baseline"]

    accepted = runner.invoke(app, ["review", run_id, "--db", db, "--accept", "1", "--reviewer", "ana"])
    assert accepted.exit_code == 0, accepted.output
    assert f"v1 accepted; continue the run: promptlearn optimize --resume {run_id}" in accepted.output
    assert store.get_version(run_id, 1).status == "accepted"  # type: ignore[union-attr]
    assert "nothing waits for review" in runner.invoke(app, ["review", run_id, "--db", db]).output
    again = runner.invoke(app, ["review", run_id, "--db", db, "--reject", "1"])
    assert again.exit_code == 2 and "not pending review (it is accepted)" in again.output

    done = optimize(resume=run_id, store=store, lm=world([]))
    assert done.final_version == 1 and done.final_test.accuracy.estimate == 1.0


def test_review_edit_checks_the_bullet_and_the_resumed_run_validates_it(tmp_path: Path) -> None:
    store, run_id, db = paused_run(tmp_path)
    wrong = runner.invoke(app, ["review", run_id, "--db", db, "--edit", "1", "--bullet", "for-99999", "--text", "x"])
    assert wrong.exit_code == 2 and "v1 has no bullet 'for-99999'" in wrong.output
    version = store.get_version(run_id, 1)
    assert version is not None
    [bullet] = Playbook.from_json(version.content_json).bullets
    text = f"{GOOD_RULE} Nothing else."
    edited = runner.invoke(app, ["review", run_id, "--db", db, "--edit", "1", "--bullet", bullet.id, "--text", text])
    assert edited.exit_code == 0 and "v1 edited (validated again on resume)" in edited.output
    done = optimize(resume=run_id, store=store, lm=world([]))
    assert [b.text for b in done.final.bullets] == [text] and done.final_version == 2


def test_the_optimize_summary_of_a_paused_run_says_what_to_review(tmp_path: Path) -> None:
    from rich.console import Console

    from promptlearn.cli.show import print_optimize_result

    db = str(tmp_path / "db.sqlite")
    store = Store(db)
    cfg = config(tmp_path, budget={"max_iterations": 1}, gate={"review": True})
    result = optimize(cfg, store=store, lm=world([add(GOOD_RULE)]))
    console = Console(record=True, width=200)
    print_optimize_result(console, result, store)
    text = console.export_text()
    assert f"waiting for review: promptlearn review {result.run_id}, then promptlearn optimize --resume" in text
    assert "no rule passed the gate" not in text
