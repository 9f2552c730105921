"""The CLI prints one clear line for bad input (exit 2, no traceback) and shows stored runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptlearn import optimize
from promptlearn.cli.main import app
from promptlearn.errors import ModelError
from promptlearn.lm import models
from promptlearn.store import Store
from tests.fakes_task import GOOD_RULE, add, world
from tests.unit.test_optimize import config

runner = CliRunner()


def one_line_error(result, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert "Traceback" not in text and text.startswith("error:")
    for needle in needles:
        assert needle in text.replace("\n", " ")


def test_missing_dataset_file(tmp_path: Path) -> None:
    one_line_error(runner.invoke(app, ["eval", str(tmp_path / "nope.jsonl")]), "not found", "nope.jsonl")


def test_bad_jsonl_line_names_the_line(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"input": "a", "target": "b"}\n{broken\n')
    one_line_error(runner.invoke(app, ["eval", str(data)]), "line 2")


def test_unknown_model_name(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"input": "a", "target": "b"}\n')
    one_line_error(runner.invoke(app, ["eval", str(data), "-m", "local/gpt-17"]), "unknown embedded model")
    one_line_error(runner.invoke(app, ["models", "pull", "gpt-17"]), "known models")


def test_unwritable_db_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    one_line_error(runner.invoke(app, ["runs", "list", "--db", str(blocker / "x.db")]), "cannot write the database")


def test_broken_run_file_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "run.yaml"
    bad.write_text("name: x\nbudget:\n  max_iterations: -3\n")
    one_line_error(runner.invoke(app, ["optimize", str(bad)]), "run.yaml", "budget.max_iterations")
    bad.write_text("name: [unclosed\n")
    one_line_error(runner.invoke(app, ["optimize", str(bad)]), "run.yaml line", "not valid YAML")
    bad.write_text("nmae: typo\n")
    one_line_error(runner.invoke(app, ["optimize", str(bad)]), "nmae")


def test_hash_mismatch_deletes_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTLEARN_MODELS_DIR", str(tmp_path))
    corrupt = tmp_path / models.spec("smollm2-135m").filename
    corrupt.write_bytes(b"not the model")
    with pytest.raises(ModelError, match="sha256"):
        models.verified_path("smollm2-135m")
    assert not corrupt.exists()
    corrupt.write_bytes(b"still not the model")
    one_line_error(runner.invoke(app, ["eval", "support_triage", "-n", "1", "-m", "local/smollm2-135m"]), "sha256")


def test_dry_run_prints_an_estimate_and_runs_nothing(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    result = runner.invoke(app, ["optimize", "runs/demo.yaml", "--dry-run", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "task-model rollouts: up to" in result.output and "cost: $0.0000" in result.output
    assert Store(str(db)).list_runs() == []


def test_runs_list_and_show_on_a_stored_run(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    run = optimize(config(tmp_path), store=Store(str(db)), lm=world([add(GOOD_RULE)]))
    listed = runner.invoke(app, ["runs", "list", "--db", str(db), "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output)[0]["id"] == run.run_id
    shown = runner.invoke(app, ["runs", "show", run.run_id, "--db", str(db), "--json"])
    detail = json.loads(shown.output)
    assert detail["rollout_count"] == run.rollouts and detail["versions"][1]["status"] == "accepted"
    table = runner.invoke(app, ["runs", "show", run.run_id[:6], "--db", str(db)])
    assert table.exit_code == 0 and "rollouts stored" in table.output
    one_line_error(runner.invoke(app, ["runs", "show", "zzz", "--db", str(db)]), "no run 'zzz'")
