"""`--set a.b=value` on optimize, eval, bench, rl train and compare: a valid override reaches the config, a bad
field or value is one line naming the field. Option defaults come from the config models, and no command module
imports `cli.main` back."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from promptlearn.cli.common import parse_sets
from promptlearn.cli.main import app
from promptlearn.config import RunConfig, preset
from promptlearn.errors import ConfigError
from promptlearn.rl.compare_config import CompareConfig
from promptlearn.rl.config import RLConfig
from tests.unit.test_import_graph import PACKAGE_ROOT, import_graph

runner = CliRunner()


def one_line_error(result: Any, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert "Traceback" not in text and text.startswith("error:") and "\n" not in text, text
    for needle in needles:
        assert needle in text, text


def test_parse_sets_keeps_text_for_the_config_and_reads_json_containers() -> None:
    assert parse_sets(None) == {}
    assert parse_sets(["learn.batch_size=4", " models.judge = openai/x=y ", "quality.ood_path=null",
                       "dataset.metadata=[\"a\", \"b\"]", "models.rate_limits={\"openai\": 2}"]) == {
        "learn.batch_size": "4", "models.judge": "openai/x=y", "quality.ood_path": None,
        "dataset.metadata": ["a", "b"], "models.rate_limits": {"openai": 2}}
    for bad in ("learn.batch_size", "=4", "learn..batch_size=4", ".x=1"):
        with pytest.raises(ConfigError, match="expected FIELD=VALUE"):
            parse_sets([bad])
    with pytest.raises(ConfigError, match="dataset.metadata: not valid JSON"):
        parse_sets(["dataset.metadata=[a, b]"])


# ---- optimize ---------------------------------------------------------------------------------------------------
@pytest.fixture
def dry_run_config(monkeypatch: pytest.MonkeyPatch) -> list[RunConfig]:
    """The config `optimize --dry-run` would estimate, instead of loading its data."""
    from promptlearn.optimize import setup as run_setup

    seen: list[RunConfig] = []

    def fake_estimate(config: RunConfig) -> Any:
        seen.append(config)
        return SimpleNamespace(lines=lambda: ["estimated"])

    monkeypatch.setattr(run_setup, "dry_run_estimate", fake_estimate)
    return seen


def test_optimize_set_reaches_the_run_config(dry_run_config: list[RunConfig]) -> None:
    result = runner.invoke(app, ["optimize", "--preset", "quick", "--dry-run", "--set", "learn.batch_size=3",
                                 "--set", "gate.method=mcnemar", "--set", "quality.ood_path=bbh:navigate",
                                 "--set", "dataset.metadata=[\"topic\"]", "--set", "quality.curriculum=true"])
    assert result.exit_code == 0, result.output
    (config,) = dry_run_config
    assert config == preset("quick").with_overrides(**{
        "learn.batch_size": 3, "gate.method": "mcnemar", "quality.ood_path": "bbh:navigate",
        "dataset.metadata": ["topic"], "quality.curriculum": True})


@pytest.mark.parametrize(("setting", "needles"), [
    ("learn.bogus=1", ("--set", "learn.bogus", "Extra inputs")),
    ("learn.batch_size=many", ("--set", "learn.batch_size", "integer")),
    ("gate.confidence=2", ("--set", "gate.confidence",)),
    ("seed.x=1", ("field 'seed' is a value, not a section", "seed.x")),
    ("learn", ("--set 'learn'", "FIELD=VALUE")),
])
def test_optimize_bad_set_is_one_line_naming_the_field(dry_run_config: list[RunConfig], setting: str,
                                                       needles: tuple[str, ...]) -> None:
    one_line_error(runner.invoke(app, ["optimize", "--preset", "quick", "--dry-run", "--set", setting]), *needles)
    assert dry_run_config == []


def test_optimize_set_with_resume_is_refused() -> None:
    one_line_error(runner.invoke(app, ["optimize", "--resume", "abc", "--set", "learn.batch_size=3"]),
                   "--set needs a run file or --preset")


# ---- eval -------------------------------------------------------------------------------------------------------
@pytest.fixture
def eval_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    evaluate_module = importlib.import_module("promptlearn.evaluate")  # the package exports a function by that name
    calls: list[dict[str, Any]] = []

    def fake_evaluate(dataset: str, prompt: str, model: str, scorer: Any, **kwargs: Any) -> Any:
        calls.append({"dataset": dataset, "prompt": prompt, "model": model, "scorer": scorer, **kwargs})
        return SimpleNamespace(run_id="r1", summary=lambda: {"accuracy": 1.0})

    monkeypatch.setattr(evaluate_module, "evaluate", fake_evaluate)
    return calls


def test_eval_defaults_come_from_the_run_config(eval_calls: list[dict[str, Any]]) -> None:
    result = runner.invoke(app, ["eval", "support_triage", "--json"])
    assert result.exit_code == 0, result.output
    (call,) = eval_calls
    defaults = RunConfig()
    assert (call["prompt"], call["model"], call["scorer"]) == (defaults.system_prompt, defaults.models.task, "auto")
    assert (call["concurrency"], call["max_tokens"], call["limit"]) == (1, defaults.models.task_max_tokens, None)


def test_eval_set_reaches_the_evaluation(eval_calls: list[dict[str, Any]]) -> None:
    result = runner.invoke(app, ["eval", "support_triage", "-n", "3", "--json", "--set", "models.task_max_tokens=200",
                                 "--set", "system_prompt=Be brief.", "--set", "models.concurrency=2"])
    assert result.exit_code == 0, result.output
    (call,) = eval_calls
    assert (call["max_tokens"], call["prompt"], call["concurrency"], call["limit"]) == (200, "Be brief.", 2, 3)


def test_eval_bad_set_is_one_line_naming_the_field(eval_calls: list[dict[str, Any]]) -> None:
    one_line_error(runner.invoke(app, ["eval", "support_triage", "--set", "models.bogus=1"]), "models.bogus")
    one_line_error(runner.invoke(app, ["eval", "support_triage", "--set", "models.task_max_tokens=0"]),
                   "models.task_max_tokens")
    assert eval_calls == []


# ---- bench ------------------------------------------------------------------------------------------------------
def test_bench_set_reaches_promptlearns_arms(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import promptlearn.bench

    seen: dict[str, Any] = {}

    def fake_run(tasks: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        seen["tasks"] = tasks
        return {"name": "x", "plots": []}

    monkeypatch.setattr(promptlearn.bench, "run_bench", fake_run)
    result = runner.invoke(app, ["bench", "--tasks", "bbh:navigate", "--arms", "promptlearn", "--out-dir",
                                 str(tmp_path), "--set", "learn.candidates=2"])
    assert result.exit_code == 0, result.output
    (task,) = seen["tasks"]
    assert task.promptlearn["learn.candidates"] == 2  # typed: the preset's time estimate reads it
    assert task.config("promptlearn", 10).learn.candidates == 2


def test_bench_bad_set_fails_before_running(monkeypatch: pytest.MonkeyPatch) -> None:
    import promptlearn.bench

    monkeypatch.setattr(promptlearn.bench, "run_bench", lambda *a, **k: pytest.fail("ran with a bad --set"))
    one_line_error(runner.invoke(app, ["bench", "--dry-run", "--set", "learn.bogus=1"]), "learn.bogus")


# ---- rl train ---------------------------------------------------------------------------------------------------
@pytest.fixture
def trained(monkeypatch: pytest.MonkeyPatch) -> list[RLConfig]:
    """The config `rl train` would train, without the optional RL packages."""
    import promptlearn.rl

    seen: list[RLConfig] = []

    def fake_train(config: RLConfig, store: Any, on_step: Any = None) -> Any:
        seen.append(config)
        return SimpleNamespace(run_id="r1", summary=lambda: {})

    monkeypatch.setattr(promptlearn.rl, "require_rl", lambda: None)
    monkeypatch.setattr(promptlearn.rl, "train", fake_train)
    return seen


def test_rl_train_defaults_are_the_configs_and_set_reaches_it(trained: list[RLConfig], tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "rl.db"), "--json"]
    assert runner.invoke(app, ["rl", "train", "--dataset", "support_triage", *db]).exit_code == 0
    assert trained[0] == RLConfig(dataset={"path": "support_triage"})
    result = runner.invoke(app, ["rl", "train", "--dataset", "support_triage", "--lora-r", "4", *db,
                                 "--set", "lora_dropout=0.05", "--set", "dataset.limit=20", "--set", "max_steps=3"])
    assert result.exit_code == 0, result.output
    config = trained[1]
    assert (config.lora_dropout, config.dataset.limit, config.max_steps, config.lora_r) == (0.05, 20, 3, 4)


def test_rl_train_bad_set_is_one_line_naming_the_field(trained: list[RLConfig]) -> None:
    base = ["rl", "train", "--dataset", "support_triage"]
    one_line_error(runner.invoke(app, [*base, "--set", "lora_dropout=2"]), "rl train", "field 'lora_dropout'")
    one_line_error(runner.invoke(app, [*base, "--set", "dataset.bogus=x"]), "field 'dataset.bogus'")
    assert trained == []


# ---- compare ----------------------------------------------------------------------------------------------------
@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[CompareConfig]:
    """The config `compare --dry-run` would plan, without loading its datasets."""
    from promptlearn.cli import rl_cmd

    seen: list[CompareConfig] = []

    def fake_lines(config: CompareConfig) -> list[str]:
        seen.append(config)
        return ["planned"]

    monkeypatch.setattr(rl_cmd, "dry_run_lines", fake_lines)
    return seen


def test_compare_defaults_are_the_configs(planned: list[CompareConfig]) -> None:
    result = runner.invoke(app, ["compare", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert planned == [CompareConfig()] and planned[0].lora_alpha == 2 * planned[0].lora_r


def test_compare_lora_alpha_follows_lora_r_unless_set(planned: list[CompareConfig]) -> None:
    assert runner.invoke(app, ["compare", "--dry-run", "--lora-r", "4"]).exit_code == 0
    assert runner.invoke(app, ["compare", "--dry-run", "--set", "lora_r=16"]).exit_code == 0
    assert runner.invoke(app, ["compare", "--dry-run", "--lora-r", "4", "--set", "lora_alpha=3",
                               "--set", "temperature=0.8"]).exit_code == 0
    assert [(c.lora_r, c.lora_alpha) for c in planned] == [(4, 8), (16, 32), (4, 3)]
    assert planned[2].temperature == 0.8
    assert CompareConfig(lora_r=2).lora_alpha == 4 and CompareConfig(lora_r=2, lora_alpha=5).lora_alpha == 5


def test_compare_bad_set_is_one_line_naming_the_field(planned: list[CompareConfig]) -> None:
    one_line_error(runner.invoke(app, ["compare", "--dry-run", "--set", "bogus=1"]), "compare", "field 'bogus'")
    one_line_error(runner.invoke(app, ["compare", "--dry-run", "--set", "temperature=hot"]), "field 'temperature'")
    one_line_error(runner.invoke(app, ["compare", "--dry-run", "--set", "name.x=1"]), "field 'name'")
    assert planned == []


# ---- the import direction ---------------------------------------------------------------------------------------
def test_no_module_imports_the_cli_entry_point_back() -> None:
    graph = import_graph(PACKAGE_ROOT)
    assert [module for module, imported in graph.items() if "promptlearn.cli.main" in imported] == []
    assert {f"promptlearn.cli.{m}" for m in ("bench_cmd", "export_cmds", "rl_cmd")} <= graph[
        "promptlearn.cli.main"]
