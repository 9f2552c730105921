"""`compare`: prompt learning against GRPO + LoRA on one task, one base model, one reward, one rollout budget.

1. The prompt arm runs promptlearn's optimize loop with `budget` learning rollouts (through llama.cpp when the
   model is an embedded one: cheaper).
2. The RL arm trains a LoRA adapter with GRPO on the same train split, with the same scorer as reward, for the
   number of steps whose completions match what the prompt arm spent.
3. Seed prompt, learned prompt and adapter are scored through one HF backend on the same untouched test split,
   and on an out-of-domain sample before and after (capability cliffs); with `confidence`, Brier and ECE too.
4. `<out_dir>/compare-<task>.json|.md` and two PNG curves are written; the store gets a run of kind `compare`.

A rerun with the same config reuses the finished arms recorded on that run (their timings too), resumes RL
training from its last checkpoint, and scores from the store's cache.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from promptlearn.data import Dataset, Scorer
from promptlearn.evaluate import as_dataset, resolve_scorer
from promptlearn.lm import LM
from promptlearn.lm.hf import model_string, release
from promptlearn.optimize.setup import load_run_data
from promptlearn.rl.compare_arms import ArmRun, Point, Say, run_prompt_arm, run_rl_arm, thin
from promptlearn.rl.compare_config import CompareConfig, busy_warning, plan, prompt_run_config, rl_config, rl_steps_for
from promptlearn.rl.compare_eval import HFScoring, Scored, acc_dict, diff_dict, is_cliff, paired
from promptlearn.rl.compare_report import markdown, write_plots
from promptlearn.rl.model_io import plain_folder, require_rl
from promptlearn.store import Store


def compare(config: CompareConfig | None = None, *, store: Store | None = None, db: str | None = None,
            lm_inner: LM | None = None, say: Say | None = None) -> dict[str, Any]:
    """Run both arms, score them alike, write the report; returns the JSON's content. `lm_inner` replaces the
    prompt arm's models while learning (a FakeLM in tests); scoring always uses the HF backend."""
    cfg = config or CompareConfig()
    require_rl()
    store = store or Store(db)
    tell = say or (lambda _line: None)
    run = prompt_run_config(cfg, n_test=0)
    _dataset, splits, scorer = load_run_data(run)
    run = prompt_run_config(cfg, n_test=len(splits.test))
    ood, ood_scorer = ood_data(cfg)
    record = _open_record(store, cfg)
    done = json.loads(store.get_run(record).summary_json or "{}")
    for line in plan(cfg, len(splits.test), len(ood)).lines() + [busy_warning() or ""]:
        if line:
            tell(line)

    prompt_arm = _phase(done, "prompt") or run_prompt_arm(run, store, lm_inner, tell)
    _save(store, record, done, "prompt", prompt_arm)
    steps = rl_steps_for(prompt_arm.rollouts, cfg.rollouts_per_step)
    tell(f"prompt arm spent {prompt_arm.rollouts} rollouts in {prompt_arm.wall_s:.0f}s; RL: {steps} steps")
    release()  # a prompt arm that learned through the HF backend leaves its model loaded; training needs the room
    rl_arm = _phase(done, "rl", steps) or run_rl_arm(rl_config(cfg, steps), store, tell)
    _save(store, record, done, "rl", rl_arm)

    data = score_and_report(cfg, store, prompt_arm, rl_arm, splits.test, scorer, ood, ood_scorer, tell)
    store.finish_run(record, "completed", {**done, "results": data["results"]})
    return data


def ood_data(cfg: CompareConfig) -> tuple[Dataset, Scorer]:
    """A seeded sample of the out-of-domain dataset (all of it when smaller), with its own default scorer."""
    dataset = as_dataset(cfg.ood_dataset)
    sample = dataset.sample(min(cfg.ood_n, len(dataset)), cfg.seed)
    return sample, resolve_scorer("auto", dataset)


def score_and_report(cfg: CompareConfig, store: Store, prompt_arm: ArmRun, rl_arm: ArmRun, test: Dataset,
                     scorer: Scorer, ood: Dataset, ood_scorer: Scorer, tell: Say) -> dict[str, Any]:
    scoring = HFScoring(store, cfg.max_tokens, cfg.confidence, cfg.eval_batch)
    folder = plain_folder(cfg.model.removeprefix("local/"))
    base = model_string(folder)
    seed_prompt = cfg.system_prompt  # exactly what RL trained under

    def score(arm: str, model: str, prompt: str, data: Dataset, used: Scorer, split: str) -> Scored:
        tell(f"scoring {arm} on {split} ({len(data)} examples)")
        return scoring.score(model, prompt, data, used, f"{cfg.name}-{arm}-{split}-{cfg.task}")

    # Grouped by model: the backend holds one model in memory at a time.
    seed_t, seed_o = (score("seed", base, seed_prompt, test, scorer, "test"),
                      score("seed", base, seed_prompt, ood, ood_scorer, "ood"))
    final_prompt = prompt_arm.points[-1].prompt or seed_prompt
    prompt_t, prompt_o = (score("prompt", base, final_prompt, test, scorer, "test"),
                          score("prompt", base, final_prompt, ood, ood_scorer, "ood"))
    points = [_point("prompt", p, score("prompt", base, p.prompt or seed_prompt, test, scorer, p.label))
              for p in thin(prompt_arm.points, cfg.eval_points)]
    adapter = model_string(folder, rl_arm.points[-1].adapter)
    rl_t, rl_o = (score("rl", adapter, seed_prompt, test, scorer, "test"),
                  score("rl", adapter, seed_prompt, ood, ood_scorer, "ood"))
    for p in thin(rl_arm.points, cfg.eval_points):
        model = base if p.adapter is None else model_string(folder, p.adapter)
        points.append(_point("rl", p, score("rl", model, seed_prompt, test, scorer, p.label)))
    release()
    rows = [_row("seed", seed_t, seed_t, seed_o, seed_o, None), _row("prompt", prompt_t, seed_t, prompt_o, seed_o,
            prompt_arm), _row("rl", rl_t, seed_t, rl_o, seed_o, rl_arm)]
    data = _assemble(cfg, base, prompt_arm, rows, points, test, ood, scorer)
    return write_outputs(data, Path(cfg.out_dir), f"compare-{cfg.task}")


def write_outputs(data: dict[str, Any], out: Path, name: str) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    data["plots"] = [str(p) for p in write_plots(data, out, name)]
    (out / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (out / f"{name}.md").write_text(markdown(data), encoding="utf-8")
    data["files"] = [str(out / f"{name}.json"), str(out / f"{name}.md"), *data["plots"]]
    return data


def _point(arm: str, p: Point, scored: Scored) -> dict[str, Any]:
    return {"arm": arm, "label": p.label, "rollouts": p.rollouts, "compute_s": p.compute_s, "wall_s": p.wall_s,
            **acc_dict(scored), "model": scored.model}


def _row(arm: str, test: Scored, seed: Scored, ood: Scored, ood_seed: Scored, run: ArmRun | None) -> dict[str, Any]:
    shift = paired(ood_seed, ood)
    notes = {} if run is None else {k: v for k, v in run.notes.items() if k not in ("steps", "max_steps")}
    if run is not None and run.arm == "rl":
        notes["steps"] = run.notes["max_steps"]
    return {
        "arm": arm, **acc_dict(test), "diff_vs_seed": None if arm == "seed" else diff_dict(paired(seed, test)),
        "ood": {"before": acc_dict(ood_seed), "after": acc_dict(ood), "shift": None if arm == "seed"
                else diff_dict(shift), "cliff": arm != "seed" and is_cliff(shift)},
        "brier": test.brier, "ece": test.ece, "stated": test.stated,
        "rollouts": 0 if run is None else run.rollouts, "wall_s": 0.0 if run is None else run.wall_s,
        "compute_s": 0.0 if run is None else run.compute_s, "eval_model": test.model, "backend": "hf",
        "run_ids": [test.result.run_id, ood.result.run_id] + ([] if run is None else [run.run_id]),
        "majority_accuracy": test.result.majority_accuracy, "answers": test.result.answer_distribution,
        "notes": notes,
    }


def _assemble(cfg: CompareConfig, base: str, prompt_arm: ArmRun, rows: list[dict[str, Any]],
              points: list[dict[str, Any]], test: Dataset, ood: Dataset, scorer: Scorer) -> dict[str, Any]:
    return {
        "name": f"compare-{cfg.task}", "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "task": cfg.dataset.path,
        "ood": cfg.ood_dataset, "n_test": len(test), "n_ood": len(ood), "scorer": scorer.name, "budget": cfg.budget,
        "rollouts_per_step": cfg.rollouts_per_step, "max_tokens": cfg.max_tokens, "confidence": cfg.confidence,
        "models": {"model": cfg.model, "eval_backend": base, "learn_model": prompt_arm.notes.get("learn_model", ""),
                   "judge": cfg.judge, "rewriter": cfg.rewriter},
        "config": cfg.model_dump(mode="json"), "results": rows, "points": points,
        "prompt": prompt_arm.points[-1].prompt,
    }


# ---- the compare run's record: finished arms, so a rerun reuses them (and their timings) ---------------------
def _open_record(store: Store, cfg: CompareConfig) -> str:
    wanted = json.dumps(cfg.model_dump(mode="json"), sort_keys=True)
    same = [r for r in store.list_runs(limit=100_000)
            if r.kind == "compare" and json.dumps(json.loads(r.config_json), sort_keys=True) == wanted]
    return same[0].id if same else store.create_run("compare", cfg.name, cfg.model_dump(mode="json"))


def _phase(done: dict[str, Any], arm: str, steps: int | None = None) -> ArmRun | None:
    saved = done.get(arm)
    if not saved:
        return None
    run = ArmRun.from_dict(saved)
    if steps is not None and run.notes.get("max_steps") != steps:
        return None  # the prompt arm's spend changed: train (resuming) to the new step count
    if run.arm == "rl" and not Path(run.points[-1].adapter or "").is_dir():
        return None
    return run


def _save(store: Store, record: str, done: dict[str, Any], arm: str, run: ArmRun) -> None:
    done[arm] = run.as_dict()
    store.finish_run(record, "running", done)
