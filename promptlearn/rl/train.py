"""`train`: GRPO with a LoRA adapter on a run's train split, rewarded by the same scorer prompt learning uses.

Layout of `output_dir`: `checkpoints/` (TRL checkpoints; a rerun resumes from the last one), `adapter/` (the final
LoRA adapter and tokenizer) and `promptlearn_rl.json` (the run id and config, so a resumed run keeps its record).
The store gets a run of kind "rl" whose summary holds every logged step's reward, updated as training goes.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from promptlearn.data import Dataset, Scorer, Splits
from promptlearn.errors import ConfigError, StoreError
from promptlearn.evaluate import as_dataset, resolve_scorer
from promptlearn.rl.config import RLConfig, RLResult
from promptlearn.rl.model_io import load_model, pick_device, require_rl, write_adapter_info
from promptlearn.rl.reward import scorer_reward
from promptlearn.store import Store

RUN_FILE = "promptlearn_rl.json"
STEP_KEYS = ("reward", "reward_std", "score", "loss", "kl", "entropy", "completions/mean_length",
             "confidence_stated", "learning_rate", "grad_norm", "step_time")  # step_time: generate + update, s
# Fields that may change between a run and its resume; any other change needs a fresh output_dir.
RESUMABLE = {"max_steps", "save_steps", "keep_checkpoints", "name"}
OnStep = Callable[[dict[str, float]], None]


def load_rl_data(config: RLConfig) -> tuple[Dataset, Splits, Scorer]:
    """The same load and seeded split as a prompt-learning run with this dataset block and seed."""
    d = config.dataset
    dataset = as_dataset(d.path, input=d.input, target=d.target, metadata=d.metadata or None, id=d.id,
                              limit=d.limit)
    splits = dataset.split(config.seed, d.train, d.val, d.test)
    if not len(splits.train):
        raise ConfigError(f"dataset {d.path}: the train split is empty; raise dataset.train")
    return dataset, splits, resolve_scorer(config.scorer, dataset)


def to_rows(config: RLConfig, data: Dataset) -> list[dict[str, Any]]:
    """TRL rows: a chat `prompt` plus the columns the reward function reads (`input`, `target`, `example_id`)."""
    return [{"prompt": [{"role": "system", "content": config.system_prompt}, {"role": "user", "content": ex.input}],
             "input": ex.input, "target": ex.target, "example_id": ex.id} for ex in data]


def steps_from(log_history: list[dict[str, Any]]) -> list[dict[str, float]]:
    """One entry per logged training step that carries a reward, with the numeric metrics we keep."""
    steps: list[dict[str, float]] = []
    for entry in log_history:
        if "reward" not in entry:
            continue
        step: dict[str, float] = {"step": int(entry.get("step", len(steps) + 1))}
        step.update({k: float(entry[k]) for k in STEP_KEYS if isinstance(entry.get(k), int | float)})
        steps.append(step)
    return steps


def train(config: RLConfig, store: Store | None = None, *, on_step: OnStep | None = None) -> RLResult:
    """Train a LoRA adapter with GRPO; resumes from the last checkpoint in `config.output_dir` when there is one."""
    require_rl()
    dataset, splits, scorer = load_rl_data(config)
    store = store or Store()
    out = config.out_path
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = _last_checkpoint(out / "checkpoints")
    run_id = _open_run(store, config, dataset, splits, out, resumed=checkpoint is not None)
    device, bf16 = pick_device()
    base = {"device": device, "output_dir": str(out), "resumed_from": checkpoint, "scorer": scorer.name,
            "train_examples": len(splits.train)}
    try:
        trainer = _trainer(config, splits.train, scorer, device, bf16, store, run_id, base, on_step)
        trainer.train(resume_from_checkpoint=checkpoint)
        adapter = out / "adapter"
        trainer.save_model(str(adapter))
        trainer.processing_class.save_pretrained(str(adapter))
        write_adapter_info(adapter, config.model)
    except BaseException as exc:
        steps = steps_from(trainer.state.log_history) if "trainer" in locals() else []
        store.finish_run(run_id, "stopped", {**base, "steps": steps, "error": f"{type(exc).__name__}: {exc}"[:500]})
        raise
    saved = [str(path) for _step, path in saved_checkpoints(out / "checkpoints")]
    result = RLResult(run_id, out, adapter, steps_from(trainer.state.log_history), checkpoint, device, saved)
    store.finish_run(run_id, "completed", {**base, **result.summary()})
    return result


def _trainer(config: RLConfig, data: Dataset, scorer: Scorer, device: str, bf16: bool, store: Store, run_id: str,
             base: dict[str, Any], on_step: OnStep | None) -> Any:
    from peft import LoraConfig
    from transformers import PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    # By name: the repo's own datasets/ folder would shadow Hugging Face `datasets` for ruff and mypy.
    hf_dataset = importlib.import_module("datasets").Dataset
    model, tokenizer = load_model(config.model, device, bf16)
    args = GRPOConfig(
        output_dir=str(config.out_path / "checkpoints"), max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size, gradient_accumulation_steps=1,
        num_generations=config.num_generations, max_completion_length=config.max_completion_length,
        learning_rate=config.learning_rate, temperature=config.temperature, beta=config.beta, seed=config.seed,
        logging_steps=1, save_strategy="steps", save_steps=config.save_steps,
        save_total_limit=config.keep_checkpoints, report_to="none", bf16=bf16, use_cpu=device == "cpu",
        activation_checkpointing=device == "cuda", disable_tqdm=True, dataloader_num_workers=0,
    )
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")
    rewards: list[Any] = [scorer_reward(scorer, calibration_weight=config.calibration_weight)]
    trainer = GRPOTrainer(model=model, reward_funcs=rewards, args=args, processing_class=tokenizer,
                          train_dataset=hf_dataset.from_list(to_rows(config, data)), peft_config=lora,
                          callbacks=[_store_callback(store, run_id, base, on_step)])
    trainer.remove_callback(PrinterCallback)  # progress goes through on_step; stdout stays clean for --json
    return trainer


def _store_callback(store: Store, run_id: str, base: dict[str, Any], on_step: OnStep | None) -> Any:
    from transformers import TrainerCallback

    class StoreSteps(TrainerCallback):  # type: ignore[misc]
        """After each log: the steps so far go into the run's summary (status stays "running")."""

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any) -> None:
            if not logs or "reward" not in logs:
                return
            steps = steps_from(state.log_history)
            store.finish_run(run_id, "running", {**base, "steps": steps, "rewards": [s["reward"] for s in steps]})
            if on_step is not None and steps:
                on_step(steps[-1])

    return StoreSteps()


def saved_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every checkpoint on disk that holds an adapter, by step."""
    found = []
    for path in folder.glob("checkpoint-*") if folder.is_dir() else []:
        suffix = path.name.removeprefix("checkpoint-")
        if suffix.isdigit() and (path / "adapter_config.json").is_file():
            found.append((int(suffix), path))
    return sorted(found)


def _last_checkpoint(folder: Path) -> str | None:
    if not folder.is_dir():
        return None
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(folder))


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in RESUMABLE}


def _open_run(store: Store, config: RLConfig, dataset: Dataset, splits: Splits, out: Path, resumed: bool) -> str:
    """The stored run for this output dir when resuming (same config), else a new run of kind "rl"."""
    run_file = out / RUN_FILE
    dumped = config.model_dump(mode="json")
    if resumed and run_file.is_file():
        saved = json.loads(run_file.read_text(encoding="utf-8"))
        if _comparable(saved.get("config", {})) != _comparable(dumped):
            raise ConfigError(f"{out} holds checkpoints of an RL run with another config; use another output_dir "
                              "or delete its checkpoints/ folder to start over")
        try:
            row = store.get_run(saved["run_id"])
        except StoreError:
            row = None  # checkpoints from another database: keep the checkpoints, start a new record
        if row is not None:
            store.finish_run(row.id, "running", json.loads(row.summary_json or "{}"))
            return row.id
    run_id = store.create_run("rl", config.name, dumped)
    for name in ("train", "val", "test"):
        store.save_examples(run_id, dataset.name, name, getattr(splits, name).examples)
    run_file.write_text(json.dumps({"run_id": run_id, "config": dumped}, indent=2) + "\n", encoding="utf-8")
    return run_id
