"""CLI commands for weight updates: `rl train` (GRPO with a LoRA adapter) and `compare` (prompt learning vs RL on
the same task and budget). Parse, call `promptlearn.rl`, print. Needs `pip install 'promptlearn[rl]'`."""

from __future__ import annotations

import sys
from functools import partial
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
from promptlearn.rl.config import RLConfig

# Each option's default is its config model's (a new field's default is written once, in the model).
_rl = partial(default, RLConfig)
_cmp = partial(default, CompareConfig)


def train_cmd(
    model: str = typer.Option(_rl("model"), "--model", "-m", help="embedded model name or a local HF folder"),
    dataset: str = typer.Option(..., "--dataset", "-d", help="JSONL/CSV path, a bundled name or bbh:<task>"),
    input_col: str = typer.Option(_rl("dataset.input"), "--input", help="input column"),
    target_col: str = typer.Option(_rl("dataset.target"), "--target", help="target column"),
    limit: int | None = typer.Option(_rl("dataset.limit"), "--limit", "-n", help="read only the first N rows"),
    train_size: float = typer.Option(_rl("dataset.train"), "--train", help="train split: a count, or a fraction "
                                     "if below 1"),
    val_size: float = typer.Option(_rl("dataset.val"), "--val", help="val split (held out from training, as in "
                                   "prompt learning)"),
    test_size: float = typer.Option(_rl("dataset.test"), "--test", help="test split (never trained on)"),
    scorer: str = typer.Option(_rl("scorer"), "--scorer", "-s", help="exact, choice, numeric, label:A,B, regex:..., "
                               "json"),
    system_prompt: str | None = typer.Option(None, "--prompt", "-p", help="the system prompt of every rollout"),
    max_steps: int = typer.Option(_rl("max_steps"), "--max-steps"),
    num_generations: int = typer.Option(_rl("num_generations"), "--num-generations", help="completions per prompt "
                                        "(the GRPO group)"),
    prompts_per_step: int = typer.Option(_rl("prompts_per_step"), "--prompts-per-step"),
    lr: float = typer.Option(_rl("learning_rate"), "--lr"),
    lora_r: int = typer.Option(_rl("lora_r"), "--lora-r"),
    lora_alpha: int = typer.Option(_rl("lora_alpha"), "--lora-alpha"),
    max_completion_length: int = typer.Option(_rl("max_completion_length"), "--max-completion-length"),
    calibration_weight: float = typer.Option(_rl("calibration_weight"), "--calibration-weight", help="Brier term "
                                             "when a confidence is stated ('Confidence: 0.8'); 0 turns it off"),
    save_steps: int = typer.Option(_rl("save_steps"), "--save-steps"),
    output_dir: str = typer.Option(_rl("output_dir"), "--output-dir", "-o", help="checkpoints and adapter; reruns "
                                   "resume"),
    seed: int = typer.Option(_rl("seed"), "--seed"),
    name: str = typer.Option(_rl("name"), "--name"),
    sets: list[str] | None = set_option("lora_dropout=0.05"),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Train a LoRA adapter with GRPO on the train split, rewarded by the scorer; resumes from the last checkpoint."""
    from promptlearn.rl import require_rl, train

    require_rl()
    fields: dict[str, Any] = {
        "name": name, "model": model, "scorer": scorer, "max_steps": max_steps, "num_generations": num_generations,
        "prompts_per_step": prompts_per_step, "learning_rate": lr, "lora_r": lora_r, "lora_alpha": lora_alpha,
        "max_completion_length": max_completion_length, "calibration_weight": calibration_weight,
        "save_steps": save_steps, "output_dir": output_dir, "seed": seed,
        "dataset": {"path": dataset, "input": input_col, "target": target_col, "limit": limit,
                    "train": size(train_size), "val": size(val_size), "test": size(test_size)},
    }
    if system_prompt is not None:
        fields["system_prompt"] = system_prompt
    config: RLConfig = config_from(RLConfig, fields, sets, "rl train")

    def show(step: dict[str, float]) -> None:
        if not as_json:
            err.print(f"step {step['step']}/{config.max_steps}: reward {step['reward']:.3f}  "
                      f"loss {step.get('loss', 0):.4f}", highlight=False)

    result = train(config, open_store(db), on_step=show)
    if as_json:
        emit_json({"run_id": result.run_id, **result.summary()})
        return
    rewards = ", ".join(f"{r:.3f}" for r in result.rewards)
    err.print(f"run {result.run_id} ({result.device}): rewards per step [{rewards}]", highlight=False)
    err.print(f"adapter: {escape(str(result.adapter_dir))}  (load it with promptlearn.rl.load_adapter)",
              highlight=False)


# ---- compare: prompt learning vs RL ----------------------------------------------------------------------------
def compare_cmd(
    dataset: str = typer.Option(_cmp("dataset.path"), "--dataset", "-d", help="the task: JSONL/CSV path, a bundled "
                                "name or bbh:<task>"),
    model: str = typer.Option(_cmp("model"), "--model", "-m", help="embedded model name or a local HF folder"),
    ood: str | None = typer.Option(_cmp("ood"), "--ood", help="out-of-domain dataset (default: another BBH task)"),
    ood_n: int = typer.Option(_cmp("ood_n"), "--ood-n", help="out-of-domain examples"),
    train_size: float = typer.Option(_cmp("dataset.train"), "--train", help="train split: a count, or a fraction "
                                     "if below 1"),
    val_size: float = typer.Option(_cmp("dataset.val"), "--val", help="val split (the prompt arm's gate)"),
    test_size: float = typer.Option(_cmp("dataset.test"), "--test", help="test split, scored for every arm, learned "
                                    "from by none"),
    scorer: str = typer.Option(_cmp("scorer"), "--scorer", "-s", help="exact, choice, numeric, label:A,B, regex:..., "
                               "json"),
    system_prompt: str | None = typer.Option(None, "--prompt", "-p", help="the seed system prompt of both arms"),
    budget: int = typer.Option(_cmp("budget"), "--budget", help="task-model rollouts each arm spends learning"),
    max_tokens: int = typer.Option(_cmp("max_tokens"), "--max-tokens", help="reply length for learning and scoring, "
                                   "both arms"),
    judge: str = typer.Option(_cmp("judge"), "--judge", help="the prompt arm's judge model"),
    rewriter: str = typer.Option(_cmp("rewriter"), "--rewriter", help="the prompt arm's rewriter model"),
    num_generations: int = typer.Option(_cmp("num_generations"), "--num-generations", help="RL: completions per "
                                        "prompt"),
    prompts_per_step: int = typer.Option(_cmp("prompts_per_step"), "--prompts-per-step", help="RL: prompts per step"),
    lr: float = typer.Option(_cmp("learning_rate"), "--lr", help="RL: LoRA learning rate"),
    lora_r: int = typer.Option(_cmp("lora_r"), "--lora-r", help="RL: LoRA rank (lora_alpha follows: 2r)"),
    calibration_weight: float = typer.Option(_cmp("calibration_weight"), "--calibration-weight", help="RL: Brier term "
                                             "in the reward"),
    eval_points: int = typer.Option(_cmp("eval_points"), "--eval-points", help="intermediate curve points per arm "
                                    "(scored on test)"),
    eval_batch: int = typer.Option(_cmp("eval_batch"), "--eval-batch", help="HF scoring batch size"),
    confidence: bool = typer.Option(_cmp("confidence"), "--confidence", help="elicit 'Confidence: p'; report Brier "
                                    "and ECE"),
    seed: int = typer.Option(_cmp("seed"), "--seed"),
    out_dir: str = typer.Option(_cmp("out_dir"), "--out-dir", help="where the JSON, table and plots go"),
    work_dir: str | None = typer.Option(_cmp("work_dir"), "--work-dir", help="RL checkpoints and adapter (default "
                                        "runs/out/compare/<task>); reruns resume"),
    name: str = typer.Option(_cmp("name"), "--name"),
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
    rl_app = typer.Typer(help="Weight updates: GRPO with a LoRA adapter (needs promptlearn[rl]).",
                         no_args_is_help=True)
    rl_app.command("train")(friendly(train_cmd))
    app.add_typer(rl_app, name="rl")
    app.command("compare")(friendly(compare_cmd))
