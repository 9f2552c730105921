"""CLI command `rl train`: parse, call `promptlearn.rl.train`, print. Needs `pip install 'promptlearn[rl]'`."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.markup import escape

DbOption = typer.Option(None, "--db", envvar="PROMPTLEARN_DB", help="database path or SQLAlchemy URL")


def train_cmd(
    model: str = typer.Option("smollm2-135m", "--model", "-m", help="embedded model name or a local HF folder"),
    dataset: str = typer.Option(..., "--dataset", "-d", help="JSONL/CSV path, a bundled name or bbh:<task>"),
    input_col: str = typer.Option("input", "--input", help="input column"),
    target_col: str = typer.Option("target", "--target", help="target column"),
    limit: int | None = typer.Option(None, "--limit", "-n", help="read only the first N rows"),
    train_size: float = typer.Option(24, "--train", help="train split: a count, or a fraction if below 1"),
    val_size: float = typer.Option(30, "--val", help="val split (held out from training, as in prompt learning)"),
    test_size: float = typer.Option(40, "--test", help="test split (never trained on)"),
    scorer: str = typer.Option("auto", "--scorer", "-s", help="exact, choice, numeric, label:A,B, regex:..., json"),
    system_prompt: str | None = typer.Option(None, "--prompt", "-p", help="the system prompt of every rollout"),
    max_steps: int = typer.Option(50, "--max-steps"),
    num_generations: int = typer.Option(4, "--num-generations", help="completions per prompt (the GRPO group)"),
    prompts_per_step: int = typer.Option(2, "--prompts-per-step"),
    lr: float = typer.Option(1e-5, "--lr"),
    lora_r: int = typer.Option(8, "--lora-r"),
    lora_alpha: int = typer.Option(16, "--lora-alpha"),
    max_completion_length: int = typer.Option(64, "--max-completion-length"),
    calibration_weight: float = typer.Option(0.0, "--calibration-weight", help="Brier term when a confidence is "
                                             "stated ('Confidence: 0.8'); 0 turns it off"),
    save_steps: int = typer.Option(25, "--save-steps"),
    output_dir: str = typer.Option("runs/out/rl", "--output-dir", "-o", help="checkpoints and adapter; reruns resume"),
    seed: int = typer.Option(0, "--seed"),
    name: str = typer.Option("rl", "--name"),
    db: str | None = DbOption,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Train a LoRA adapter with GRPO on the train split, rewarded by the scorer; resumes from the last checkpoint."""
    from promptlearn.cli.main import _store, err
    from promptlearn.errors import ConfigError
    from promptlearn.rl import RLConfig, require_rl, train

    try:
        require_rl()
    except ConfigError as exc:  # printed here, escaped: "[rl]" in the install hint is not rich markup
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    fields: dict[str, Any] = {
        "name": name, "model": model, "scorer": scorer, "max_steps": max_steps, "num_generations": num_generations,
        "prompts_per_step": prompts_per_step, "learning_rate": lr, "lora_r": lora_r, "lora_alpha": lora_alpha,
        "max_completion_length": max_completion_length, "calibration_weight": calibration_weight,
        "save_steps": save_steps, "output_dir": output_dir, "seed": seed,
        "dataset": {"path": dataset, "input": input_col, "target": target_col, "limit": limit,
                    "train": _size(train_size), "val": _size(val_size), "test": _size(test_size)},
    }
    if system_prompt is not None:
        fields["system_prompt"] = system_prompt
    config = _validate(RLConfig, fields)

    def show(step: dict[str, float]) -> None:
        if not as_json:
            err.print(f"step {step['step']}/{max_steps}: reward {step['reward']:.3f}  loss {step.get('loss', 0):.4f}",
                      highlight=False)

    result = train(config, _store(db), on_step=show)
    if as_json:
        sys.stdout.write(json.dumps({"run_id": result.run_id, **result.summary()}, indent=2) + "\n")
        return
    rewards = ", ".join(f"{r:.3f}" for r in result.rewards)
    err.print(f"run {result.run_id} ({result.device}): rewards per step [{rewards}]", highlight=False)
    err.print(f"adapter: {escape(str(result.adapter_dir))}  (load it with promptlearn.rl.load_adapter)",
              highlight=False)


def _size(value: float) -> int | float:
    """Whole numbers are counts (24), values below 1 are fractions (0.4), as in a run file."""
    return int(value) if value >= 1 and float(value).is_integer() else value


def _validate(model: Any, fields: dict[str, Any], command: str = "rl train") -> Any:
    from pydantic import ValidationError

    from promptlearn.errors import ConfigError

    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{command}: option '{where}': {message}" if where else f"{command}: {message}") from None


def register(app: typer.Typer) -> None:
    from promptlearn.cli.main import friendly

    rl_app = typer.Typer(help="Weight updates: GRPO with a LoRA adapter (needs promptlearn[rl]).",
                         no_args_is_help=True)
    rl_app.command("train")(friendly(train_cmd))
    app.add_typer(rl_app, name="rl")
