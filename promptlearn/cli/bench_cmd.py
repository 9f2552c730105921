"""CLI command `bench`: promptlearn against DSPy's GEPA and MIPROv2 and its own ablations. `register(app)` adds it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from promptlearn.bench.runner import RESULTS_DIR
from promptlearn.cli.common import DbOption, console, err, friendly, parse_sets, set_option
from promptlearn.errors import ConfigError

if TYPE_CHECKING:
    from promptlearn.bench import BenchPreset, BenchTask


def _names(values: list[str] | None) -> list[str] | None:
    """Repeated options and comma-separated lists both work: --arms gepa,seed --arms promptlearn."""
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def bench_cmd(
    preset_name: str = typer.Option("cpu", "--preset", help="benchmark preset (cpu, learn, tools)"),
    tasks: list[str] | None = typer.Option(None, "--tasks", help="datasets, e.g. bbh:navigate (default: preset's)"),
    arms: list[str] | None = typer.Option(None, "--arms", help="seed, promptlearn, gepa, miprov2, full_rewrite, "
                                          "add_only (default: all; seed always runs)"),
    budget: list[int] | None = typer.Option(None, "--budget", help="task-model rollouts each arm may spend "
                                            "learning; repeat for an accuracy-vs-rollouts curve"),
    seeds: int | None = typer.Option(None, "--seeds", min=1, help="how many seeds (0..N-1)"),
    out: str | None = typer.Option(None, "--out", help="results name (default: peers-<preset>)"),
    out_dir: Path = typer.Option(RESULTS_DIR, "--out-dir", help="where the JSON, table and plots go"),
    train: int | None = typer.Option(None, "--train", min=1, help="train examples per task (default: preset's)"),
    val: int | None = typer.Option(None, "--val", min=1, help="val examples per task"),
    test: int | None = typer.Option(None, "--test", min=1, help="test examples per task"),
    prompt: str | None = typer.Option(None, "--prompt", help="seed prompt for your own --tasks dataset"),
    scorer: str | None = typer.Option(None, "--scorer", help="scorer for your own --tasks dataset (e.g. label:A,B)"),
    task_model: str | None = typer.Option(None, "--task-model", help="replace every task's task model "
                                          "(e.g. local/qwen2.5-1.5b); reflection models stay the preset's"),
    sets: list[str] | None = set_option("learn.candidates=2", "run-config field of promptlearn's arms (the peers "
                                        "keep the preset's)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the estimated wall time, run nothing"),
    stored_only: bool = typer.Option(False, "--stored-only", help="report only the arms already run (peers in "
                                     "the cache, promptlearn runs in the store); run nothing new but the seed"),
    db: str | None = DbOption,
) -> None:
    """Benchmark the arms on the same splits: test accuracy with 95% intervals, paired differences, rollouts."""
    from promptlearn.bench import get_preset

    preset = get_preset(preset_name)
    chosen_arms = _arms(arms, preset)
    given: dict[str, Any] = {"train": train, "val": val, "test": test, "system_prompt": prompt, "scorer": scorer,
                             "db": db}
    chosen_tasks = _tasks(preset, _names(tasks), {k: v for k, v in given.items() if v is not None}, task_model,
                          parse_sets(sets))
    budgets = budget or [preset.budget]
    n_seeds = seeds or preset.seeds
    minutes = sum(preset.estimate_s(chosen_arms, b, n_seeds, chosen_tasks) for b in budgets) / 60
    err.print(f"bench {escape(preset.name)}: {len(chosen_tasks)} task(s) x {len(chosen_arms)} arm(s) x "
              f"{n_seeds} seed(s), budget(s) {budgets}; estimated at most {minutes:.0f} min", highlight=False)
    if dry_run:
        return
    name = out or preset.results_name
    data = _run(preset, chosen_tasks, chosen_arms, n_seeds, budgets, name, out_dir, stored_only)
    name = data["name"]
    console.print(f"wrote {escape(str(out_dir / (name + '.json')))}, {escape(str(out_dir / (name + '.md')))}"
                  + "".join(f", {escape(p)}" for p in data["plots"]), highlight=False)


def _arms(arms: list[str] | None, preset: BenchPreset) -> tuple[str, ...]:
    from promptlearn.bench import ARMS

    chosen = tuple(_names(arms) or preset.arms)
    unknown = [a for a in chosen if a not in ARMS]
    if unknown:
        raise ConfigError(f"--arms: unknown arm(s) {', '.join(unknown)}; choose from {', '.join(ARMS)}")
    return chosen


def _tasks(preset: BenchPreset, names: list[str] | None, fields: dict[str, Any], task_model: str | None,
           sets: dict[str, Any]) -> tuple[BenchTask, ...]:
    """The preset's tasks (or `names`) with the options' fields; `--set` overrides are checked now, not mid-run."""
    from promptlearn.bench.presets import select_tasks

    chosen = []
    for task in select_tasks(preset, names):
        models = task.models.model_copy(update={"task": task_model}) if task_model else task.models
        task = replace(task, **fields, models=models, promptlearn={**task.promptlearn, **sets})
        if sets:  # validated now, so a bad field fails naming it, not mid-run; kept typed for the estimate
            config = task.config("promptlearn", preset.budget)
            task = replace(task, promptlearn={**task.promptlearn, **{key: _value(config, key) for key in sets}})
        chosen.append(task)
    return tuple(chosen)


def _value(config: Any, key: str) -> Any:
    value = config
    for part in key.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


def _run(preset: BenchPreset, tasks: tuple[BenchTask, ...], arms: tuple[str, ...], n_seeds: int,
         budgets: list[int], name: str, out_dir: Path, stored_only: bool) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from promptlearn.bench import run_bench

    cells = len(tasks) * n_seeds * (1 + len(budgets) * len([a for a in arms if a != "seed"]))
    with Progress(TextColumn("bench"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}"),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        cell = bar.add_task("bench", total=cells, last="")

        def show(result) -> None:  # type: ignore[no-untyped-def]
            bar.console.print(f"  {result.task} {result.arm} (budget {result.budget}, seed {result.seed}): test "
                              f"{result.test.accuracy}, {result.rollouts} rollouts, {result.wall_s:.0f}s",
                              highlight=False)
            bar.update(cell, advance=1, last=f"{result.arm} {result.test.accuracy.estimate:.2f}")

        return run_bench(tasks, arms, list(range(n_seeds)), budgets, None, name, out_dir=out_dir, on_result=show,
                         peer_cache=out_dir / f"{name}-peers" if preset.reuse_peers else None,
                         stored_only=stored_only)


def register(app: typer.Typer) -> None:
    app.command("bench")(friendly(bench_cmd))
