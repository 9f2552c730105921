"""CLI command `compare`: parse, call `promptlearn.rl.compare`, print. Needs `pip install 'promptlearn[rl]'`."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.markup import escape

from promptlearn.cli.common import (
    DbOption,
    JsonOption,
    config_from,
    console,
    default,
    emit_json,
    err,
    friendly,
    open_store,
    set_option,
    size,
)
from promptlearn.rl.compare_config import CompareConfig


def _d(field: str) -> Any:
    return default(CompareConfig, field)


def compare_cmd(
    dataset: str = typer.Option(_d("dataset.path"), "--dataset", "-d", help="the task: JSONL/CSV path, a bundled "
                                "name or bbh:<task>"),
    model: str = typer.Option(_d("model"), "--model", "-m", help="embedded model name or a local HF folder"),
    ood: str | None = typer.Option(_d("ood"), "--ood", help="out-of-domain dataset (default: another BBH task)"),
    ood_n: int = typer.Option(_d("ood_n"), "--ood-n", help="out-of-domain examples"),
    train_size: float = typer.Option(_d("dataset.train"), "--train", help="train split: a count, or a fraction "
                                     "if below 1"),
    val_size: float = typer.Option(_d("dataset.val"), "--val", help="val split (the prompt arm's gate)"),
    test_size: float = typer.Option(_d("dataset.test"), "--test", help="test split, scored for every arm, learned "
                                    "from by none"),
    scorer: str = typer.Option(_d("scorer"), "--scorer", "-s", help="exact, choice, numeric, label:A,B, regex:..., "
                               "json"),
    system_prompt: str | None = typer.Option(None, "--prompt", "-p", help="the seed system prompt of both arms"),
    budget: int = typer.Option(_d("budget"), "--budget", help="task-model rollouts each arm spends learning"),
    max_tokens: int = typer.Option(_d("max_tokens"), "--max-tokens", help="reply length for learning and scoring, "
                                   "both arms"),
    judge: str = typer.Option(_d("judge"), "--judge", help="the prompt arm's judge model"),
    rewriter: str = typer.Option(_d("rewriter"), "--rewriter", help="the prompt arm's rewriter model"),
    num_generations: int = typer.Option(_d("num_generations"), "--num-generations", help="RL: completions per "
                                        "prompt"),
    prompts_per_step: int = typer.Option(_d("prompts_per_step"), "--prompts-per-step", help="RL: prompts per step"),
    lr: float = typer.Option(_d("learning_rate"), "--lr", help="RL: LoRA learning rate"),
    lora_r: int = typer.Option(_d("lora_r"), "--lora-r", help="RL: LoRA rank (lora_alpha follows: 2r)"),
    calibration_weight: float = typer.Option(_d("calibration_weight"), "--calibration-weight", help="RL: Brier term "
                                             "in the reward"),
    eval_points: int = typer.Option(_d("eval_points"), "--eval-points", help="intermediate curve points per arm "
                                    "(scored on test)"),
    eval_batch: int = typer.Option(_d("eval_batch"), "--eval-batch", help="HF scoring batch size"),
    confidence: bool = typer.Option(_d("confidence"), "--confidence", help="elicit 'Confidence: p'; report Brier "
                                    "and ECE"),
    seed: int = typer.Option(_d("seed"), "--seed"),
    out_dir: str = typer.Option(_d("out_dir"), "--out-dir", help="where the JSON, table and plots go"),
    work_dir: str | None = typer.Option(_d("work_dir"), "--work-dir", help="RL checkpoints and adapter (default "
                                        "runs/out/compare/<task>); reruns resume"),
    name: str = typer.Option(_d("name"), "--name"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the plan and estimated time, run nothing"),
    sets: list[str] | None = set_option("temperature=0.8"),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Prompt learning vs GRPO + LoRA at a matched rollout budget, every arm scored by one HF backend."""
    fields: dict[str, Any] = {
        "name": name, "model": model, "ood": ood, "ood_n": ood_n, "scorer": scorer, "budget": budget,
        "max_tokens": max_tokens, "judge": judge, "rewriter": rewriter, "num_generations": num_generations,
        "prompts_per_step": prompts_per_step, "learning_rate": lr, "lora_r": lora_r,
        "calibration_weight": calibration_weight, "eval_points": eval_points, "eval_batch": eval_batch,
        "confidence": confidence, "seed": seed, "out_dir": out_dir, "work_dir": work_dir,
        "dataset": {"path": dataset, "train": size(train_size), "val": size(val_size), "test": size(test_size)},
    }
    if system_prompt is not None:
        fields["system_prompt"] = system_prompt
    config: CompareConfig = config_from(CompareConfig, fields, sets, "compare")
    if dry_run:
        for line in dry_run_lines(config):
            console.print(escape(line), highlight=False, soft_wrap=True)
        return
    run_compare(config, db, as_json)


def run_compare(config: CompareConfig, db: str | None, as_json: bool) -> None:
    from promptlearn.rl import compare, require_rl

    require_rl()

    def say(line: str) -> None:
        err.print(escape(line), highlight=False, soft_wrap=True)

    data = compare(config, store=open_store(db), say=None if as_json else say)
    if as_json:
        emit_json(data)
        return
    from promptlearn.rl.compare_report import markdown

    sys.stdout.write(markdown(data))  # raw: a console would wrap the table's rows
    console.print("wrote " + ", ".join(escape(f) for f in data["files"]), highlight=False, soft_wrap=True)


def dry_run_lines(config: CompareConfig) -> list[str]:
    """The plan: loads both datasets (a broken one fails now) and prints rollouts, steps and time per arm."""
    from promptlearn.optimize.setup import load_run_data
    from promptlearn.rl.compare import ood_data
    from promptlearn.rl.compare_config import busy_warning, plan, prompt_run_config

    _dataset, splits, _scorer = load_run_data(prompt_run_config(config, n_test=0))
    ood, _ = ood_data(config)
    lines = [f"compare {config.dataset.path} on {config.model} (ood {config.ood_dataset}, seed {config.seed})"]
    warning = busy_warning()
    return lines + plan(config, len(splits.test), len(ood)).lines() + ([warning] if warning else [])


def register(app: typer.Typer) -> None:
    app.command("compare")(friendly(compare_cmd))
