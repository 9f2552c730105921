"""Learning-quality options off vs on, on BIG-Bench-Hard tasks with the embedded models (issue #10).

Both arms ask the task model for a stated confidence (so Brier score and ECE can be measured) and score the same
out-of-domain check set for the seed and every accepted version (so a capability cliff shows in both). The "on"
arm adds what can change learning: the calibration gate, blocking on an out-of-domain drop, blocking bullets that
talk about the grader, a second (audit) judge, down-weighted too-hard examples, a curriculum and per-bullet
ablation credit for every accepted version. Same seed, splits and budget for both arms.

Run: `python -m benchmarks.quality_onoff [task ...]` (default: logical_deduction_three_objects and
sports_understanding); writes benchmarks/results/quality_onoff.json and .md. Needs ../shared/data/bbh and
`promptlearn models pull qwen2.5-0.5b qwen2.5-1.5b`. About 5 minutes a run on 2 quiet cores.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
TASKS = ["logical_deduction_three_objects", "sports_understanding"]
OOD = "bbh:boolean_expressions"
DB = Path(__file__).resolve().parents[1] / "runs" / "out" / "quality_onoff.db"

MEASURE = {"quality.confidence": True, "quality.ood_path": OOD, "quality.ood_n": 20, "quality.ablation": "off",
           "quality.hard_weight": 1.0}
LEARN_ON = {"quality.calibration_gate": True, "quality.ood_block": True, "quality.block_grader_mentions": True,
            "quality.audit_judge": "local/qwen2.5-0.5b", "quality.audit_sample": 6, "quality.hard_weight": 0.25,
            "quality.curriculum": True, "quality.ablation": "accepted"}


def config(task: str, arm: str):  # type: ignore[no-untyped-def]
    from promptlearn.config import preset

    base = preset("quick", name=f"quality-{arm}-{task}", system_prompt="Answer the question.",
                  dataset={"path": f"bbh:{task}", "train": 20, "val": 20, "test": 30},
                  models={"task": "local/qwen2.5-0.5b", "judge": "local/qwen2.5-1.5b",
                          "rewriter": "local/qwen2.5-1.5b", "task_max_tokens": 40},
                  budget={"max_iterations": 2, "max_rollouts": 600}, learn={"batch_size": 6, "max_failures": 2})
    return base.with_overrides(**{**MEASURE, **(LEARN_ON if arm == "on" else {})})


def row(task: str, arm: str, result: Any, wall_s: float) -> dict[str, Any]:
    summary = result.summary()
    calibration = summary.get("calibration", {})
    return {
        "task": task, "arm": arm, "run_id": result.run_id, "wall_s": round(wall_s, 1), "rollouts": result.rollouts,
        "seed_test": summary["seed_test"], "final_test": summary["final_test"], "test_diff": summary["test_diff"],
        "final_version": result.final_version, "bullets": len(result.final.bullets),
        "brier_seed": _measure(calibration, "seed_test", "brier"),
        "brier_final": _measure(calibration, "final_test", "brier"),
        "ece_seed": _measure(calibration, "seed_test", "ece"), "ece_final": _measure(calibration, "final_test", "ece"),
        "ood": summary.get("ood", {}), "flags": summary.get("flags", []), "audits": summary.get("audits", []),
        "learning": summary.get("learning", {}), "stop_reason": result.stop_reason,
    }


def _measure(calibration: dict[str, Any], name: str, key: str) -> dict[str, Any] | None:
    part = calibration.get(name)
    if not part or part.get(key) is None:
        return None
    return {"value": part[key], "low": part[f"{key}_low"], "high": part[f"{key}_high"], "stated": part["stated"],
            "n": part["n"]}


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| task | arm | seed test | final test | paired diff | Brier seed -> final | ECE seed -> final | "
             "OOD seed -> final (boolean_expressions) | flags | rollouts | wall |", "|" + " --- |" * 11]
    for r in rows:
        lines.append(f"| {r['task']} | {r['arm']} | {_acc(r['seed_test'])} | {_acc(r['final_test'])} | "
                     f"{_diff(r['test_diff'])} | {_cal(r['brier_seed'])} -> {_cal(r['brier_final'])} | "
                     f"{_cal(r['ece_seed'])} -> {_cal(r['ece_final'])} | {_ood(r['ood'])} | {len(r['flags'])} | "
                     f"{r['rollouts']} | {r['wall_s'] / 60:.1f} min |")
    return "\n".join(lines) + "\n"


def _acc(summary: dict[str, Any]) -> str:
    if not summary or summary.get("n", 0) == 0:
        return "n/a"
    return f"{summary['accuracy']:.2f} [{summary['low']:.2f}, {summary['high']:.2f}]"


def _diff(diff: dict[str, Any]) -> str:
    return f"{diff['diff']:+.2f} [{diff['low']:+.2f}, {diff['high']:+.2f}]"


def _cal(measure: dict[str, Any] | None) -> str:
    if not measure:
        return "n/a"
    return f"{measure['value']:.3f} [{measure['low']:.3f}, {measure['high']:.3f}] ({measure['stated']}/{measure['n']})"


def _ood(ood: dict[str, Any]) -> str:
    if not ood:
        return "n/a"
    final = ood.get("final") or {}
    tail = "same (seed kept)"
    if final.get("accuracy") is not None and ood.get("final_version"):
        tail = (f"{final['accuracy']:.2f} (diff {final.get('diff', 0):+.2f} [{final.get('low', 0):+.2f}, "
                f"{final.get('high', 0):+.2f}])")
    flagged = f", cliff flagged on v{ood['flagged_versions']}" if ood.get("flagged_versions") else ""
    return f"{ood['seed']:.2f} -> {tail}{flagged}"


def main(argv: list[str]) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from promptlearn.optimize import optimize

    tasks = argv or TASKS
    DB.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for task in tasks:
        for arm in ("off", "on"):
            started = time.perf_counter()
            result = optimize(config(task, arm), db=str(DB))
            rows.append(row(task, arm, result, time.perf_counter() - started))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    meta = {"task_model": "local/qwen2.5-0.5b", "judge": "local/qwen2.5-1.5b", "audit_judge": "local/qwen2.5-0.5b",
            "splits": "train 20 / val 20 / test 30, seed 0", "ood": f"{OOD}, 20 examples", "iterations": 2,
            "measure_both": MEASURE, "learn_on": LEARN_ON}
    (RESULTS / "quality_onoff.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2, default=str))
    (RESULTS / "quality_onoff.md").write_text(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
