"""The RL backend: rewards from the shared scorers (plain Python), and a 2-step GRPO + LoRA run on CPU (slow)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from promptlearn.config import RunConfig
from promptlearn.data import Example, make_scorer
from promptlearn.errors import ConfigError
from promptlearn.optimize.setup import load_run_data
from promptlearn.rl import RLConfig, parse_confidence, reward_for, scorer_reward
from promptlearn.rl.train import load_rl_data, steps_from, to_rows
from promptlearn.store import Store
from tests.conftest import SHARED_BBH, needs_smollm

HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "gguf")


def test_importing_promptlearn_and_rl_loads_no_torch() -> None:
    code = ("import sys, promptlearn, promptlearn.rl, promptlearn.cli.main; "
            f"print([m for m in sys.modules if m.split('.')[0] in {HEAVY!r}])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("text", "want"), [
    ("Yes.\nConfidence: 0.8", 0.8), ("no (confidence = 80%)", 0.8), ("Confidence: 80", 0.8),
    ("confidence level: .25", 0.25), ("Confidence: 1", 1.0), ("Confidence: 150%", None), ("Yes", None),
])
def test_parse_confidence(text: str, want: float | None) -> None:
    value, stripped = parse_confidence(text)
    assert value is None if want is None else value == pytest.approx(want)
    assert "onfidence" not in stripped


def test_reward_is_the_score_plus_a_brier_penalty_when_a_confidence_is_stated() -> None:
    choice, example = make_scorer("choice"), Example("e1", "Do you return?\nOptions:\n- Yes\n- No", "Yes")
    assert reward_for(choice, "Yes", example, calibration_weight=1.0).value == 1.0
    sure_right = reward_for(choice, "Yes. Confidence: 0.8", example, calibration_weight=1.0)
    assert sure_right.value == pytest.approx(1 - 0.2**2) and sure_right.confidence == pytest.approx(0.8)
    sure_wrong = reward_for(choice, "No. Confidence: 0.9", example, calibration_weight=0.5)
    assert sure_wrong.score == 0.0 and sure_wrong.value == pytest.approx(-0.5 * 0.81)
    assert reward_for(choice, "No. Confidence: 0.9", example).value == 0.0  # weight 0: the plain scorer


def test_the_confidence_number_never_counts_as_the_answer() -> None:
    numeric, example = make_scorer("numeric"), Example("e1", "6*7?", "42")
    result = reward_for(numeric, "The answer is 42.\nConfidence: 0.9", example, calibration_weight=1.0)
    assert result.score == 1.0 and result.value == pytest.approx(1 - 0.01)


def test_scorer_reward_has_trl_shape_and_reads_target_and_input_columns() -> None:
    logged: dict[str, float] = {}
    batches: list[int] = []
    reward = scorer_reward(make_scorer("choice"), on_batch=lambda rs: batches.append(len(rs)))
    prompts = [[{"role": "user", "content": "q"}]] * 3
    completions = [[{"role": "assistant", "content": "Yes"}], [{"role": "assistant", "content": "No"}], "(B)"]
    values = reward(prompts, completions, target=["Yes", "Yes", "(B)"], input=["q", "q", "(A) x\n(B) y"],
                    example_id=["a", "a", "b"], trainer_state=None, log_metric=logged.__setitem__)
    assert values == [1.0, 0.0, 1.0]
    assert reward.__name__ == "score_choice" and batches == [3]
    assert logged["score"] == pytest.approx(2 / 3) and logged["confidence_stated"] == 0.0


def test_scorer_reward_reports_a_missing_or_short_target_column() -> None:
    reward = scorer_reward(make_scorer("exact"))
    with pytest.raises(ConfigError, match="no 'target' column"):
        reward(["p"], ["x"])
    with pytest.raises(ConfigError, match="2 values for 1 completions"):
        reward(["p"], ["x"], target=["a", "b"])
    with pytest.raises(ConfigError):
        scorer_reward(make_scorer("exact"), calibration_weight=-1)


def test_rl_config_is_frozen_and_validated() -> None:
    config = RLConfig(num_generations=4, prompts_per_step=3)
    assert config.batch_size == 12
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        config.max_steps = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        RLConfig(num_generations=1)
    with pytest.raises(ValueError):
        RLConfig(lora_rank=4)  # type: ignore[call-arg]


def test_the_train_split_is_the_one_prompt_learning_uses() -> None:
    data = {"path": "support_triage", "train": 6, "val": 5, "test": 5}
    _, rl_splits, rl_scorer = load_rl_data(RLConfig(dataset=data, seed=3))
    _, pl_splits, pl_scorer = load_run_data(RunConfig(dataset=data, seed=3))
    assert [e.id for e in rl_splits.train] == [e.id for e in pl_splits.train]
    assert [e.id for e in rl_splits.test] == [e.id for e in pl_splits.test]
    assert rl_scorer.name == pl_scorer.name
    row = to_rows(RLConfig(system_prompt="Be brief."), rl_splits.train)[0]
    assert row["prompt"][0] == {"role": "system", "content": "Be brief."} and row["target"] and row["example_id"]


def test_steps_from_keeps_rewarded_steps_only() -> None:
    history: list[dict[str, Any]] = [
        {"step": 1, "reward": 0.5, "loss": 0.1, "learning_rate": 1e-5, "rewards/x/mean": 0.5},
        {"step": 2, "reward": 0.25, "loss": None}, {"step": 2, "train_runtime": 9.0},
    ]
    assert steps_from(history) == [{"step": 1, "reward": 0.5, "loss": 0.1, "learning_rate": 1e-5},
                                   {"step": 2, "reward": 0.25}]


def test_missing_rl_packages_give_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from promptlearn.cli.main import app
    from promptlearn.rl import model_io

    real = importlib.util.find_spec
    monkeypatch.setattr(model_io.importlib.util, "find_spec", lambda n: None if n == "trl" else real(n))
    result = CliRunner().invoke(app, ["rl", "train", "--dataset", "support_triage", "--max-steps", "1"])
    assert result.exit_code == 2 and "promptlearn[rl]" in result.output


_HAVE_RL = all(importlib.util.find_spec(name) for name in ("torch", "transformers", "trl", "peft", "gguf"))
NAVIGATE = SHARED_BBH / "navigate.jsonl"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")  # TRL calls a transformers name deprecated for v6
@pytest.mark.integration
@needs_smollm
@pytest.mark.skipif(not _HAVE_RL, reason="needs pip install 'promptlearn[rl]'")
@pytest.mark.skipif(not NAVIGATE.exists(), reason=f"needs {NAVIGATE}")
def test_two_grpo_steps_on_smollm_store_rewards_and_a_loadable_adapter(tmp_path: Path) -> None:
    from promptlearn.rl import load_adapter, train

    config = RLConfig(model="smollm2-135m", dataset={"path": str(NAVIGATE), "limit": 12, "train": 4, "val": 4,
                                                     "test": 4},
                      max_steps=2, num_generations=2, prompts_per_step=2, max_completion_length=8,
                      output_dir=str(tmp_path / "out"), calibration_weight=0.5)
    store = Store(str(tmp_path / "rl.db"))
    seen: list[dict[str, float]] = []
    result = train(config, store, on_step=seen.append)

    assert [s["step"] for s in result.steps] == [1, 2] and len(seen) == 2
    assert all(-0.5 <= r <= 1.0 for r in result.rewards)
    row = store.get_run(result.run_id or "")
    assert row.kind == "rl" and row.status == "completed"
    assert json.loads(row.summary_json)["rewards"] == result.rewards
    assert {e.split for e in store.examples(row.id)} == {"train", "val", "test"}

    model, tokenizer = load_adapter(result.adapter_dir)
    assert type(model).__name__ == "PeftModelForCausalLM" and tokenizer.eos_token

    again = train(config, store)  # the last checkpoint is at max_steps: resumes, trains nothing, same record
    assert again.run_id == result.run_id and again.resumed_from and again.rewards == result.rewards
