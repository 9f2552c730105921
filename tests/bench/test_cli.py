"""`promptlearn bench`: options reach run_bench; the cpu preset is what the issue asks for and fits an hour."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from promptlearn.bench import ARMS, PRESETS
from promptlearn.bench.arms import DEFAULT_ARMS
from promptlearn.cli.main import app


def test_the_cpu_preset_has_three_bbh_tasks_all_arms_and_fits_ninety_minutes() -> None:
    cpu = PRESETS["cpu"]
    assert [t.dataset for t in cpu.tasks] == ["bbh:navigate", "bbh:sports_understanding", "bbh:boolean_expressions"]
    assert cpu.arms == DEFAULT_ARMS and set(DEFAULT_ARMS) <= set(ARMS) and cpu.seeds == 1
    assert (cpu.models.task, cpu.models.rewriter, cpu.models.judge) == (
        "local/qwen2.5-0.5b", "local/qwen2.5-1.5b", "local/qwen2.5-1.5b")
    # The peers run as their users run them (MIPROv2 light is not held to the budget), hence 90 minutes, not 60.
    assert cpu.estimate_s() <= 90 * 60
    assert cpu.estimate_s(budget=cpu.budget * 4) > cpu.estimate_s()


def test_the_learn_preset_has_its_four_tasks_with_their_splits() -> None:
    from promptlearn.bench import get_preset

    learn = get_preset("learn")
    assert [t.name for t in learn.tasks] == ["clinc-banking", "clinc-credit_cards",
                                             "bbh:disambiguation_qa", "rules-json"]
    assert [(t.train, t.val, t.test) for t in learn.tasks] == [(60, 30, 150), (60, 30, 150), (30, 30, 100),
                                                               (40, 30, 100)]
    assert learn.budget == 150 and learn.reuse_peers and learn.results_name == "learn"
    banking = learn.tasks[0]
    assert banking.split_column == "split" and "bill_balance" in banking.system_prompt
    assert banking.system_prompt.endswith("Reply with the intent only.") and banking.scorer.startswith("label:")
    _dataset, splits, _scorer = banking.data()
    assert {e.metadata["split"] for e in splits.test} == {"test"} and len(splits.test) == 150


def test_other_tasks_of_the_learn_family_run_the_same_way() -> None:
    from promptlearn.bench import get_preset
    from promptlearn.bench.presets import select_tasks

    learn = get_preset("learn")
    travel, navigate, mine = select_tasks(learn, ["clinc-travel", "bbh:navigate", "bbh_like.jsonl"])
    assert (travel.name, travel.split_column, travel.train, travel.val, travel.test) == (
        "clinc-travel", "split", 60, 30, 150)
    assert "Reply with the intent only." in travel.system_prompt and "travel" in travel.scorer + travel.system_prompt
    assert travel.promptlearn == learn.tasks[0].promptlearn
    assert (navigate.dataset, navigate.train, navigate.val, navigate.test) == ("bbh:navigate", 30, 30, 100)
    assert mine.split_column is None and mine.scorer == "auto"  # outside the family: the user's own dataset


def test_the_user_preset_runs_the_defaults_under_the_unseen_task_conditions() -> None:
    from collections import Counter

    from promptlearn.bench import get_preset

    user = get_preset("user")
    assert [t.name for t in user.tasks] == ["clinc-home-lists", "clinc-kitchen-reservations", "bbh:navigate",
                                            "bbh:web_of_lies"]
    assert all((t.train, t.val, t.test, t.promptlearn) == (30, 30, 100, {}) for t in user.tasks)  # the defaults
    assert user.budget == 150 and user.arms == ("seed", "promptlearn")
    home = user.tasks[0]
    _dataset, splits, _scorer = home.data()
    labels = set(home.scorer.removeprefix("label:").split(","))
    assert len(labels) == 6 and {e.target for e in splits.test} == labels  # six intents, nothing else
    assert max(Counter(e.target for e in splits.test).values()) == 20  # majority 0.20, as in the unseen task


def test_dataset_targets_keep_a_subset_of_labels_and_name_a_missing_one(tmp_path: Path) -> None:
    from promptlearn.config import RunConfig
    from promptlearn.errors import ConfigError
    from promptlearn.optimize.setup import load_run_data

    data = tmp_path / "d.jsonl"
    data.write_text("".join(f'{{"input": "m{i}", "target": "{"abc"[i % 3]}"}}\n' for i in range(30)))
    kept, splits, _ = load_run_data(RunConfig.model_validate(
        {"dataset": {"path": str(data), "train": 5, "val": 5, "test": 5, "targets": ["a", "b"]}, "scorer": "exact"}))
    assert len(kept) == 20 and {e.target for s in (splits.train, splits.val, splits.test) for e in s} == {"a", "b"}
    with pytest.raises(ConfigError, match=r"dataset.targets: .* the target\(s\) z \(known: a, b, c\)"):
        load_run_data(RunConfig.model_validate(
            {"dataset": {"path": str(data), "train": 5, "val": 5, "test": 5, "targets": ["a", "z"]}}))


def test_dry_run_prints_the_estimate_and_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import promptlearn.bench

    monkeypatch.setattr(promptlearn.bench, "run_bench", lambda *a, **k: pytest.fail("dry run ran the bench"))
    result = CliRunner().invoke(app, ["bench", "--preset", "cpu", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "3 task(s) x 6 arm(s)" in result.output and "min" in result.output


def test_options_reach_run_bench(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import promptlearn.bench

    seen: dict[str, Any] = {}

    def fake_run(tasks, arms, seeds, budgets, models, name, **kwargs):  # type: ignore[no-untyped-def]
        seen.update(tasks=tasks, arms=arms, seeds=seeds, budgets=budgets, models=models, name=name, **kwargs)
        return {"name": name, "plots": []}

    monkeypatch.setattr(promptlearn.bench, "run_bench", fake_run)
    args = ["bench", "--preset", "cpu", "--tasks", "navigate,bbh:web_of_lies", "--arms", "seed,gepa", "--arms",
            "promptlearn", "--budget", "20", "--budget", "40", "--seeds", "2", "--out", "mine", "--out-dir",
            str(tmp_path), "--db", str(tmp_path / "b.db")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [t.dataset for t in seen["tasks"]] == ["bbh:navigate", "bbh:web_of_lies"]
    assert all(t.db == str(tmp_path / "b.db") for t in seen["tasks"])
    assert seen["arms"] == ("seed", "gepa", "promptlearn") and seen["seeds"] == [0, 1]
    assert seen["budgets"] == [20, 40] and seen["name"] == "mine" and "mine.json" in result.output


def test_an_unknown_arm_is_one_line_error() -> None:
    result = CliRunner().invoke(app, ["bench", "--arms", "dspy_magic", "--dry-run"])
    assert result.exit_code == 2
    assert "unknown arm(s) dspy_magic" in result.output


def test_own_data_sizes_prompt_scorer_and_task_model_reach_every_task(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path) -> None:  # type: ignore[no-untyped-def]
    import promptlearn.bench

    seen: dict[str, Any] = {}

    def fake_run(tasks, arms, seeds, budgets, models, name, **kwargs):  # type: ignore[no-untyped-def]
        seen.update(tasks=tasks, models=models, name=name, **kwargs)
        return {"name": name, "plots": []}

    monkeypatch.setattr(promptlearn.bench, "run_bench", fake_run)
    data = tmp_path / "mine.jsonl"
    data.write_text('{"input": "a", "target": "x"}\n')
    args = ["bench", "--preset", "learn", "--tasks", str(data), "--train", "20", "--val", "10", "--test", "40",
            "--prompt", "Label it.", "--scorer", "label:x,y", "--task-model", "local/qwen2.5-1.5b",
            "--out-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (task,) = seen["tasks"]
    assert (task.dataset, task.train, task.val, task.test) == (str(data), 20, 10, 40)
    assert (task.system_prompt, task.scorer, task.models.task) == ("Label it.", "label:x,y", "local/qwen2.5-1.5b")
    assert task.models.rewriter == "local/qwen2.5-1.5b" and seen["models"] is None
    assert task.name == "mine" and task.split_column is None  # nothing of the preset's CLINC task leaks in
    assert seen["name"] == "learn" and seen["peer_cache"] == tmp_path / "learn-peers"


def test_the_learn_preset_uses_the_bbh_task_the_chooser_picked() -> None:
    import json
    from pathlib import Path

    from promptlearn.bench.learn import LEARN_BBH_TASK

    choice = json.loads((Path(__file__).resolve().parents[2] / "benchmarks/results/bbh-choice.json").read_text())
    assert choice["chosen"] == LEARN_BBH_TASK
    gaps = {row["task"]: row["gap"] for row in choice["tasks"]}
    assert gaps[LEARN_BBH_TASK] == max(gaps.values()) and len(gaps) == 9


def test_the_estimate_of_an_ablation_arm_is_the_loop_s() -> None:
    from promptlearn.bench import get_preset

    learn = get_preset("learn")
    loop = learn.estimate_s(("promptlearn",))
    assert learn.estimate_s(("no_judge",)) == learn.estimate_s(("judge",)) == learn.estimate_s(("no_examples",)) == loop
    assert learn.estimate_s(("miprov2",)) != loop
