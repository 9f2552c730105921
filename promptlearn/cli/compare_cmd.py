"""CLI command `compare`: parse, call `promptlearn.rl.compare`, print. Needs `pip install 'promptlearn[rl]'`."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.markup import escape

DbOption = typer.Option(None, "--db", envvar="PROMPTLEARN_DB", help="database path or SQLAlchemy URL")


def compare_cmd(
    dataset: str = typer.Option("bbh:sports_understanding", "--dataset", "-d", help="the task: JSONL/CSV path, a "
                                "bundled name or bbh:<task>"),
    model: str = typer.Option("smollm2-135m", "--model", "-m", help="embedded model name or a local HF folder"),
    ood: str | None = typer.Option(None, "--ood", help="out-of-domain dataset (default: another BBH task)"),
    ood_n: int = typer.Option(30, "--ood-n", help="out-of-domain examples"),
    train_size: float = typer.Option(24, "--train", help="train split: a count, or a fraction if below 1"),
    val_size: float = typer.Option(12, "--val", help="val split (the prompt arm's gate)"),
    test_size: float = typer.Option(30, "--test", help="test split, scored for every arm, learned from by none"),
    scorer: str = typer.Option("auto", "--scorer", "-s", help="exact, choice, numeric, label:A,B, regex:..., json"),
    system_prompt: str | None = typer.Option(None, "--prompt", "-p", help="the seed system prompt of both arms"),
    budget: int = typer.Option(48, "--budget", help="task-model rollouts each arm spends learning"),
    max_tokens: int = typer.Option(64, "--max-tokens", help="reply length for learning and scoring, both arms"),
    judge: str = typer.Option("local/qwen2.5-1.5b", "--judge", help="the prompt arm's judge model"),
    rewriter: str = typer.Option("local/qwen2.5-1.5b", "--rewriter", help="the prompt arm's rewriter model"),
    num_generations: int = typer.Option(4, "--num-generations", help="RL: completions per prompt"),
    prompts_per_step: int = typer.Option(2, "--prompts-per-step", help="RL: prompts per step"),
    lr: float = typer.Option(5e-5, "--lr", help="RL: LoRA learning rate"),
    lora_r: int = typer.Option(8, "--lora-r"),
    calibration_weight: float = typer.Option(0.0, "--calibration-weight", help="RL: Brier term in the reward"),
    eval_points: int = typer.Option(2, "--eval-points", help="intermediate curve points per arm (scored on test)"),
    eval_batch: int = typer.Option(8, "--eval-batch", help="HF scoring batch size"),
    confidence: bool = typer.Option(False, "--confidence", help="elicit 'Confidence: p'; report Brier and ECE"),
    seed: int = typer.Option(0, "--seed"),
    out_dir: str = typer.Option("benchmarks/results", "--out-dir", help="where the JSON, table and plots go"),
    work_dir: str | None = typer.Option(None, "--work-dir", help="RL checkpoints and adapter (default "
                                        "runs/out/compare/<task>); reruns resume"),
    name: str = typer.Option("compare", "--name"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the plan and estimated time, run nothing"),
    db: str | None = DbOption,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Prompt learning vs GRPO + LoRA at a matched rollout budget, every arm scored by one HF backend."""
    from promptlearn.cli.main import _store, console, err
    from promptlearn.cli.rl_cmd import _size, _validate
    from promptlearn.errors import ConfigError
    from promptlearn.rl.compare_config import CompareConfig

    fields: dict[str, Any] = {
        "name": name, "model": model, "ood": ood, "ood_n": ood_n, "scorer": scorer, "budget": budget,
        "max_tokens": max_tokens, "judge": judge, "rewriter": rewriter, "num_generations": num_generations,
        "prompts_per_step": prompts_per_step, "learning_rate": lr, "lora_r": lora_r, "lora_alpha": 2 * lora_r,
        "calibration_weight": calibration_weight, "eval_points": eval_points, "eval_batch": eval_batch,
        "confidence": confidence, "seed": seed, "out_dir": out_dir, "work_dir": work_dir,
        "dataset": {"path": dataset, "train": _size(train_size), "val": _size(val_size), "test": _size(test_size)},
    }
    if system_prompt is not None:
        fields["system_prompt"] = system_prompt
    config = _validate(CompareConfig, fields, "compare")
    if dry_run:
        for line in dry_run_lines(config):
            console.print(escape(line), highlight=False, soft_wrap=True)
        return
    from promptlearn.rl import compare, require_rl

    try:
        require_rl()
    except ConfigError as exc:  # escaped: "[rl]" in the install hint is not rich markup
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    def say(line: str) -> None:
        err.print(escape(line), highlight=False, soft_wrap=True)

    data = compare(config, store=_store(db), say=None if as_json else say)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    from promptlearn.rl.compare_report import markdown

    sys.stdout.write(markdown(data))  # raw: a console would wrap the table's rows
    console.print("wrote " + ", ".join(escape(f) for f in data["files"]), highlight=False, soft_wrap=True)


def dry_run_lines(config: Any) -> list[str]:
    """The plan: loads both datasets (a broken one fails now) and prints rollouts, steps and time per arm."""
    from promptlearn.optimize.setup import load_data
    from promptlearn.rl.compare import ood_data
    from promptlearn.rl.compare_config import busy_warning, plan, prompt_run_config

    _dataset, splits, _scorer = load_data(prompt_run_config(config, n_test=0))
    ood, _ = ood_data(config)
    lines = [f"compare {config.dataset.path} on {config.model} (ood {config.ood_dataset}, seed {config.seed})"]
    warning = busy_warning()
    return lines + plan(config, len(splits.test), len(ood)).lines() + ([warning] if warning else [])


def register(app: typer.Typer) -> None:
    from promptlearn.cli.main import friendly

    app.command("compare")(friendly(compare_cmd))
