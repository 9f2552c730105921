"""Choose the learn preset's BIG-Bench-Hard task on zero-shot train+val accuracy, never on test.

For each BBH task: the learn preset's split (train 30 / val 30, seed 0), the seed prompt "Answer the question.",
the embedded task model (`--per-split 12` uses the first 12 of each, to save time); the gap is the majority-class
accuracy on those examples (what always giving one well-formed answer scores) minus the zero-shot accuracy. The
task with the largest gap is the one furthest below what its answer format allows: the room a playbook can fill.
Writes benchmarks/results/bbh-choice.json.

    python -m benchmarks.choose_bbh [--tasks a,b] [--db runs/out/bench.db]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from promptlearn.bench.learn import bbh_task
from promptlearn.data.paths import shared_data_dir
from promptlearn.evaluate import evaluate
from promptlearn.stats import majority_baseline
from promptlearn.store import Store

OUT = Path("benchmarks/results/bbh-choice.json")


def measure(name: str, store: Store, per_split: int) -> dict[str, object]:
    task = bbh_task(name)
    dataset, splits, scorer = task.data()
    examples = [*splits.train.examples[:per_split], *splits.val.examples[:per_split]]
    subset = type(dataset)(f"{dataset.name}[train+val]", tuple(examples), dataset.source)
    result = evaluate(subset, task.system_prompt, task.models.task, scorer, store=store, name=f"choose-{name}",
                      max_tokens=task.models.task_max_tokens)
    label, majority = majority_baseline([e.target for e in examples])
    unparsed = result.answer_distribution.get("(unparsed)", 0) / len(examples)
    return {"task": name, "n": len(examples), "zero_shot": result.accuracy.estimate, "low": result.accuracy.low,
            "high": result.accuracy.high, "majority_label": label, "majority": majority,
            "gap": majority - result.accuracy.estimate, "unparsed_share": unparsed,
            "answers": dict(list(result.answer_distribution.items())[:5])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="", help="comma-separated BBH task names (default: all)")
    parser.add_argument("--db", default="runs/out/bench.db")
    parser.add_argument("--per-split", type=int, default=30, help="examples from each of train and val (30: all)")
    args = parser.parse_args()
    root = shared_data_dir()
    assert root is not None, "../shared/data not found"
    names = [t for t in args.tasks.split(",") if t] or sorted(p.stem for p in (root / "bbh").glob("*.jsonl"))
    store = Store(args.db)
    rows = []
    for name in names:
        rows.append(measure(name, store, args.per_split))
        print(json.dumps(rows[-1]), flush=True)
    chosen = max(rows, key=lambda r: float(r["gap"]))  # type: ignore[arg-type]
    rule = ("largest gap between the majority-class accuracy and zero-shot accuracy on train+val "
            f"({2 * args.per_split} examples, seed 0)")
    OUT.write_text(json.dumps({"chosen": chosen["task"], "rule": rule, "tasks": rows}, indent=2) + "\n",
                   encoding="utf-8")
    print(f"chosen: {chosen['task']} (gap {float(chosen['gap']):+.2f}); wrote {OUT}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
