"""`promptlearn compare`: budget matching, cliffs, calibration, the HF model strings, the plan, and the whole
pipeline at toy scale (FakeLM prompt arm, SmolLM2-135M for GRPO and for scoring every arm)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from promptlearn.data import Dataset, Example, load_dataset, make_scorer
from promptlearn.errors import ModelError
from promptlearn.evaluate import summarize
from promptlearn.lm import FakeLM, LMRequest, Router
from promptlearn.lm import hf as hf_backend
from promptlearn.rl import compare_config
from promptlearn.rl.compare_arms import Point, PromptClock, add_wall, thin
from promptlearn.rl.compare_config import CompareConfig, plan, prompt_run_config, rl_config, rl_steps_for, save_every
from promptlearn.rl.compare_eval import HFScoring, WithoutConfidence, calibration, is_cliff
from promptlearn.rl.compare_report import markdown
from promptlearn.rollouts import RolloutResult
from promptlearn.stats import PairedResult
from promptlearn.store import Store
from tests.conftest import needs_smollm


@pytest.mark.parametrize(("rollouts", "per_step", "steps"), [(48, 8, 6), (40, 8, 5), (44, 8, 6), (6, 4, 2),
                                                             (3, 8, 1), (0, 8, 1)])
def test_rl_steps_match_the_prompt_arms_rollouts(rollouts: int, per_step: int, steps: int) -> None:
    assert rl_steps_for(rollouts, per_step) == steps
    with pytest.raises(ValueError):
        rl_steps_for(8, 0)


def test_checkpoints_are_spaced_for_the_curve_points() -> None:
    assert [save_every(6, 2), save_every(1, 2), save_every(5, 0), save_every(7, 3)] == [2, 1, 5, 2]


def _paired(diff: float, low: float, high: float, n: int = 30) -> PairedResult:
    return PairedResult(diff, low, high, n, 0.5, 0, 0)


def test_a_cliff_is_a_drop_whose_whole_interval_is_below_zero() -> None:
    assert is_cliff(_paired(-0.3, -0.5, -0.1))
    assert not is_cliff(_paired(-0.3, -0.5, 0.0))  # a drop, but within noise
    assert not is_cliff(_paired(0.2, 0.1, 0.3))
    assert not is_cliff(_paired(0.0, 0.0, 0.0, n=0))


def test_the_arms_share_data_seed_prompt_and_budget() -> None:
    cfg = CompareConfig(model="smollm2-135m", budget=40, dataset={"path": "support_triage", "train": 6, "val": 5,
                                                                  "test": 5}, seed=3, max_tokens=32)
    run = prompt_run_config(cfg, n_test=5)
    assert run.budget.max_rollouts == 40 + 2 * 5 and run.models.task == "local/smollm2-135m"
    assert run.models.task_max_tokens == 32 and run.learn.batch_size == 6  # the CPU-sized default
    rl = rl_config(cfg, steps=5)
    assert rl.max_steps * rl.batch_size == 40 and rl.keep_checkpoints is None and rl.max_completion_length == 32
    assert (rl.dataset, rl.seed, rl.system_prompt, rl.model) == (run.dataset, run.seed, run.system_prompt,
                                                                 "smollm2-135m")
    assert cfg.ood_dataset == "bbh:navigate" and CompareConfig(dataset={"path": "bbh:navigate"}).ood_dataset != \
        "bbh:navigate"
    with pytest.raises(ValueError):
        CompareConfig(ood="bbh:sports_understanding")


def test_rl_wall_time_adds_up_over_resumed_invocations(tmp_path: Path) -> None:
    assert add_wall(tmp_path / "rl", 5.0) == 5.0 and add_wall(tmp_path / "rl", 3.0) == 8.0


def test_thin_keeps_the_ends_and_spreads_the_rest() -> None:
    points = [Point(str(i), i, 0.0, 0.0) for i in range(7)]
    assert [p.label for p in thin(points, 2)] == ["0", "1", "5", "6"]
    assert [p.label for p in thin(points, 0)] == ["0", "6"]
    assert thin(points[:3], 2) == points[:3]


def test_hf_model_strings_name_the_base_and_the_adapter_by_its_weights(tmp_path: Path) -> None:
    assert hf_backend.parse("hf/Qwen/Qwen2.5-0.5B") == hf_backend.HFSpec("Qwen/Qwen2.5-0.5B")
    assert hf_backend.parse("hf//m/base+lora:/a/b#0123") == hf_backend.HFSpec("/m/base", "/a/b")
    with pytest.raises(ModelError):
        hf_backend.parse("local/smollm2-135m")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"one")
    first = hf_backend.model_string(tmp_path, adapter)
    (adapter / "adapter_model.safetensors").write_bytes(b"two")
    second = hf_backend.model_string(tmp_path, adapter)
    assert first != second and first.startswith(f"hf/{tmp_path.resolve()}+lora:")  # a retrain is a new cache key
    with pytest.raises(ModelError):
        hf_backend.model_string(tmp_path, tmp_path)


def test_the_router_sends_hf_models_to_the_transformers_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(hf_backend.HFLM, "_generate", lambda self, batch: [
        seen.append(r.model) or hf_backend.Completion(text="ok") for r in batch])  # type: ignore[func-returns-value]
    reply = Router().complete(LMRequest.chat("hf/some/folder", [{"role": "user", "content": "hi"}]))
    assert reply.text == "ok" and seen == ["hf/some/folder"]


def test_prefetch_batches_and_complete_hands_each_reply_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[int] = []

    def generate(self: Any, batch: list[LMRequest]) -> list[hf_backend.Completion]:
        batches.append(len(batch))
        return [hf_backend.Completion(text=r.messages[-1][1].upper()) for r in batch]

    monkeypatch.setattr(hf_backend.HFLM, "_generate", generate)
    lm = hf_backend.HFLM(batch_size=2)
    requests = [LMRequest.chat("hf/m", [{"role": "user", "content": f"q{i}"}]) for i in range(5)]
    assert lm.prefetch(requests) == 5 and batches == [2, 2, 1]
    assert [lm.complete(r).text for r in requests] == ["Q0", "Q1", "Q2", "Q3", "Q4"] and batches == [2, 2, 1]
    assert lm.complete(requests[0]).text == "Q0" and batches == [2, 2, 1, 1]  # handed out once, then generated


def test_scoring_answers_evaluate_from_one_prefetched_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """evaluate must ask for exactly the requests that were prefetched; else every reply is generated alone."""
    batches: list[int] = []

    def generate(self: Any, batch: list[LMRequest]) -> list[hf_backend.Completion]:
        batches.append(len(batch))
        return [hf_backend.Completion(text="Yes\nConfidence: 0.7") for _ in batch]

    monkeypatch.setattr(hf_backend.HFLM, "_generate", generate)
    data = Dataset("toy", tuple(Example(f"e{i}", f"Is {i} even?", "Yes" if i % 2 == 0 else "No") for i in range(5)),
                   "toy")
    scoring = HFScoring(Store(str(tmp_path / "s.db")), max_tokens=16, confidence=True, batch_size=8)
    scored = scoring.score("hf/m", "Answer.", data, make_scorer("choice"), "toy")
    assert batches == [5] and not scoring.lm._ready
    assert scored.result.accuracy.estimate == pytest.approx(0.6) and scored.stated == 5 and scored.brier is not None
    again = scoring.score("hf/m", "Answer.", data, make_scorer("choice"), "toy")  # from the store's cache
    assert batches == [5] and again.result.accuracy.estimate == pytest.approx(0.6)


def test_the_confidence_line_is_removed_before_scoring_and_scored_for_calibration() -> None:
    scorer = WithoutConfidence(make_scorer("numeric"))
    example = Example("e1", "6*7?", "42")
    assert scorer("The answer is 42.\nConfidence: 0.9", example).value == 1.0
    assert scorer("I think 40.\nConfidence: 42", Example("e2", "?", "42")).value == 0.0  # 42 is the confidence
    results = [RolloutResult(Example(f"e{i}", "q", "a"), f"answer\nConfidence: {c}", s, "")
               for i, (c, s) in enumerate([(0.9, 1.0), (0.8, 0.0), (1.0, 1.0)])]
    results.append(RolloutResult(Example("e9", "q", "a"), "no confidence here", 1.0, ""))
    brier, ece, stated = calibration(summarize(results))
    assert stated == 3 and brier == pytest.approx((0.01 + 0.64 + 0.0) / 3) and ece is not None and 0 < ece < 1
    assert calibration(summarize(results[3:])) == (None, None, 0)


def test_the_prompt_clock_pauses_for_test_scoring_and_counts_learning_rollouts() -> None:
    clock = PromptClock()
    events = [("eval_start", {"split": "test"}), *[("rollout", {"split": "test"})] * 4,
              ("eval_end", {"split": "test"}), *[("rollout", {"split": "val"})] * 3,
              ("rollout", {"split": "train"}), ("accepted", {"version": 1})]
    for kind, data in events:
        clock.on_event(kind, data)
    timed = clock.timed(FakeLM(["a"]))
    timed.complete(LMRequest.chat("m", [{"role": "user", "content": "x"}]))
    assert clock.rollouts == 4 and clock.accepted[0][:2] == (1, 4) and clock.test_since is None


def _row(arm: str, **extra: Any) -> dict[str, Any]:
    acc = {"accuracy": 0.5, "low": 0.3, "high": 0.7, "n": 30}
    diff = {"diff": -0.2, "low": -0.35, "high": -0.05}
    return {"arm": arm, **acc, "diff_vs_seed": None if arm == "seed" else diff, "brier": 0.2, "ece": 0.1,
            "stated": 30, "rollouts": 48, "wall_s": 100.0, "compute_s": 80.0,
            "ood": {"before": acc, "after": acc, "shift": None if arm == "seed" else diff, "cliff": arm == "rl"},
            "notes": extra}


def test_the_markdown_table_has_every_column_and_flags_cliffs() -> None:
    data = {"task": "bbh:x", "ood": "bbh:y", "n_test": 30, "n_ood": 30, "scorer": "choice", "budget": 48,
            "rollouts_per_step": 8, "max_tokens": 64, "confidence": True,
            "models": {"model": "m", "eval_backend": "hf/m", "learn_model": "local/m", "judge": "j", "rewriter": "r"},
            "results": [_row("seed"), _row("prompt", learn_model_test={"seed": 0.5, "final": 0.6}, stop_reason="x"),
                        _row("rl", steps=6)]}
    text = markdown(data)
    for column in ("test acc [95% CI]", "vs seed (paired)", "OOD before → after", "Brier", "ECE", "rollouts",
                   "wall s", "compute s"):
        assert column in text
    assert text.count("**cliff**") == 2 and "| rl | 0.500 [0.300, 0.700] | -0.200 [-0.350, -0.050] |" in text


def test_an_arm_whose_answers_collapse_onto_one_label_is_called_out() -> None:
    data = {"task": "bbh:x", "ood": "bbh:y", "n_test": 30, "n_ood": 30, "scorer": "choice", "budget": 48,
            "rollouts_per_step": 8, "max_tokens": 64, "confidence": False,
            "models": {"model": "m", "eval_backend": "hf/m", "learn_model": "local/m", "judge": "j", "rewriter": "r"},
            "results": [{**_row("seed"), "answers": {"(unparsed)": 16, "no": 14}, "majority_accuracy": 0.6},
                        {**_row("prompt", stop_reason="x"), "answers": {"no": 20, "yes": 10}},
                        {**_row("rl", steps=6), "answers": {"no": 29, "yes": 1}, "majority_accuracy": 0.6}]}
    notes = [line for line in markdown(data).splitlines() if "collapsed" in line]
    assert notes == ["- rl: answers collapsed onto 'no' (29/30); the majority-class baseline on test is 0.600."]


def test_a_busy_machine_gets_a_thread_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMPTLEARN_THREADS", raising=False)
    monkeypatch.setattr(compare_config.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert "PROMPTLEARN_THREADS=1" in (compare_config.busy_warning() or "")
    monkeypatch.setenv("PROMPTLEARN_THREADS", "2")
    assert compare_config.busy_warning() is None


def test_dry_run_prints_the_plan_without_running_anything() -> None:
    from promptlearn.cli.main import app

    result = CliRunner().invoke(app, ["compare", "--dry-run", "--dataset", "support_triage", "--ood",
                                      "bbh:navigate", "--test", "10", "--ood-n", "10", "--budget", "40"])
    assert result.exit_code == 0, result.output
    assert "RL arm: 5 GRPO steps = 40 rollouts" in result.output and "estimated time" in result.output
    cfg = CompareConfig(budget=40, dataset={"path": "support_triage", "test": 10})
    assert plan(cfg, 10, 10, spent=30).rl_steps == 4  # after the prompt arm ran: matched to what it spent


# ---- the whole pipeline at toy scale --------------------------------------------------------------------------
_HAVE_RL = all(importlib.util.find_spec(name) for name in ("torch", "transformers", "trl", "peft", "gguf"))
RULE = "Answer with Yes or No only."


def _yes_no(path: Path, question: str, truth: Any, n: int = 16) -> Path:
    """A toy yes/no task with short inputs: on CPU, GRPO's cost grows with the prompt's length."""
    rows = [{"input": f"{question.format(i)}\nOptions:\n- Yes\n- No", "target": "Yes" if truth(i) else "No"}
            for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def _prompt_world(data: Dataset) -> FakeLM:
    """The prompt arm's models: a task model right only under RULE (so the gate accepts it), a judge and a
    rewriter that propose it."""
    targets = {e.input: e.target for e in data}

    def respond(request: LMRequest) -> str:
        props = (request.json_schema or {}).get("properties", {})
        if "deltas" in props or "prompt" in props:
            return json.dumps({"deltas": [{"op": "add", "section": "formatting", "text": RULE, "reason": "fix",
                                           "evidence": []}]})
        if "failure_mode" in props:
            return json.dumps({"critique": "Rambling.", "failure_mode": "wrong_format", "suggested_rule": RULE,
                               "verdict": "fail", "confidence": 0.9})
        target = targets[request.messages[-1][1]]
        return target if RULE in request.messages[0][1] else ("No" if target == "Yes" else "Yes")

    return FakeLM(respond)


@pytest.fixture
def one_thread(monkeypatch: pytest.MonkeyPatch) -> Any:
    """One torch thread: on a busy 2-core machine two threads made this test 20x slower (600 s against 27 s)."""
    import torch

    before = torch.get_num_threads()
    monkeypatch.setenv("PROMPTLEARN_THREADS", "1")
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.filterwarnings("ignore::FutureWarning")
@needs_smollm
@pytest.mark.skipif(not _HAVE_RL, reason="needs pip install 'promptlearn[rl]'")
def test_compare_end_to_end_at_toy_scale(tmp_path: Path, one_thread: None) -> None:
    from promptlearn.rl import compare

    task = _yes_no(tmp_path / "even.jsonl", "Is {} even?", lambda i: i % 2 == 0)
    ood = _yes_no(tmp_path / "big.jsonl", "Is {} above 7?", lambda i: i > 7)
    cfg = CompareConfig(model="smollm2-135m", dataset={"path": str(task), "train": 4, "val": 2, "test": 4},
                        ood=str(ood), ood_n=4, budget=8, max_tokens=6, num_generations=2, prompts_per_step=2,
                        system_prompt="Answer the question.",
                        # 2 val examples can never pass a significance gate: accept on any gain.
                        prompt_overrides={"learn.batch_size": 2, "learn.max_failures": 1, "gate.method": "none"},
                        eval_points=1, confidence=True, out_dir=str(tmp_path / "results"),
                        work_dir=str(tmp_path / "rl"))
    store = Store(str(tmp_path / "compare.db"))
    data = compare(cfg, store=store, lm_inner=_prompt_world(load_dataset(str(task))))

    rows = {r["arm"]: r for r in data["results"]}
    assert list(rows) == ["seed", "prompt", "rl"]
    assert rows["prompt"]["rollouts"] == 8 == rows["rl"]["rollouts"] and rows["rl"]["notes"]["steps"] == 2
    assert rows["prompt"]["notes"]["final_version"] >= 1 and RULE in data["prompt"]
    # One backend for all: the same HF base folder, the RL arm with its adapter; the eval runs say so too.
    base = data["models"]["eval_backend"]
    assert base.startswith("hf/") and rows["seed"]["eval_model"] == rows["prompt"]["eval_model"] == base
    assert rows["rl"]["eval_model"].startswith(base + "+lora:")
    eval_models = {json.loads(store.get_run(i).config_json)["model"] for r in rows.values() for i in r["run_ids"][:2]}
    assert all(m.startswith(base) for m in eval_models) and len(eval_models) == 2
    for row in rows.values():
        assert row["n"] == 4 and row["ood"]["before"]["n"] == 4 and set(row["ood"]) == {"before", "after", "shift",
                                                                                          "cliff"}
        assert {"brier", "ece", "stated", "wall_s", "compute_s"} <= set(row)
    assert rows["rl"]["compute_s"] > 0 and rows["rl"]["wall_s"] >= rows["rl"]["compute_s"]
    assert {p["arm"] for p in data["points"]} == {"prompt", "rl"} and max(p["rollouts"] for p in data["points"]) == 8
    assert len(data["files"]) == 4 and all(Path(f).is_file() for f in data["files"])
    assert "| arm | test acc [95% CI] |" in Path(data["files"][1]).read_text(encoding="utf-8")
    adapter = Path(rows["rl"]["notes"]["adapter_dir"])
    assert (adapter / "adapter_config.json").is_file() and (tmp_path / "rl" / "checkpoints" / "checkpoint-1").is_dir()
    rl_record = json.loads(store.get_run(rows["rl"]["run_ids"][2]).summary_json)
    assert len(rl_record["checkpoints"]) == 2 and len(rl_record["rewards"]) == 2 and rl_record["steps"][0]["step_time"]

    again = compare(cfg, store=store)  # finished arms come from the record, every score from the store's cache
    assert [r["accuracy"] for r in again["results"]] == [r["accuracy"] for r in data["results"]]
    assert again["results"][2]["run_ids"][2] == rows["rl"]["run_ids"][2]
    assert len([r for r in store.list_runs() if r.kind == "rl"]) == 1
