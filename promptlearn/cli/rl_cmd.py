"""CLI command `rl train`: parse, call `promptlearn.rl.train`, print. Needs `pip install 'promptlearn[rl]'`."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape

from promptlearn.cli.common import (
    DbOption,
    JsonOption,
    config_from,
    default,
    emit_json,
    err,
    friendly,
    open_store,
    set_option,
    size,
)
from promptlearn.rl.config import RLConfig


def _d(field: str) -> Any:
    return default(RLConfig, field)


def train_cmd(
    model: str = typer.Option(_d("model"), "--model", "-m", help="embedded model name or a local HF folder"),
    dataset: str = typer.Option(..., "--dataset", "-d", help="JSONL/CSV path, a bundled name or bbh:<task>"),
    input_col: str = typer.Option(_d("dataset.input"), "--input", help="input column"),
    target_col: str = typer.Option(_d("dataset.target"), "--target", help="target column"),
    limit: int | None = typer.Option(_d("dataset.limit"), "--limit", "-n", help="read only the first N rows"),
    train_size: float = typer.Option(_d("dataset.train"), "--train", help="train split: a count, or a fraction "
                                     "if below 1"),
    val_size: float = typer.Option(_d("dataset.val"), "--val", help="val split (held out from training, as in "
                                   "prompt learning)"),
    test_size: float = typer.Option(_d("dataset.test"), "--test", help="test split (never trained on)"),
    scorer: str = typer.Option(_d("scorer"), "--scorer", "-s", help="exact, choice, numeric, label:A,B, regex:..., "
                               "json"),
    system_prompt: str | None = typer.Option(None, "--prompt", "-p", help="the system prompt of every rollout"),
    max_steps: int = typer.Option(_d("max_steps"), "--max-steps"),
    num_generations: int = typer.Option(_d("num_generations"), "--num-generations", help="completions per prompt "
                                        "(the GRPO group)"),
    prompts_per_step: int = typer.Option(_d("prompts_per_step"), "--prompts-per-step"),
    lr: float = typer.Option(_d("learning_rate"), "--lr"),
    lora_r: int = typer.Option(_d("lora_r"), "--lora-r"),
    lora_alpha: int = typer.Option(_d("lora_alpha"), "--lora-alpha"),
    max_completion_length: int = typer.Option(_d("max_completion_length"), "--max-completion-length"),
    calibration_weight: float = typer.Option(_d("calibration_weight"), "--calibration-weight", help="Brier term "
                                             "when a confidence is stated ('Confidence: 0.8'); 0 turns it off"),
    save_steps: int = typer.Option(_d("save_steps"), "--save-steps"),
    output_dir: str = typer.Option(_d("output_dir"), "--output-dir", "-o", help="checkpoints and adapter; reruns "
                                   "resume"),
    seed: int = typer.Option(_d("seed"), "--seed"),
    name: str = typer.Option(_d("name"), "--name"),
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


def register(app: typer.Typer) -> None:
    rl_app = typer.Typer(help="Weight updates: GRPO with a LoRA adapter (needs promptlearn[rl]).",
                         no_args_is_help=True)
    rl_app.command("train")(friendly(train_cmd))
    app.add_typer(rl_app, name="rl")
