"""Headroom on the BBH tasks: can anything a playbook carries lift the 0.5B task model above the majority?

On the user preset's binary tasks (bbh:navigate, bbh:web_of_lies) the loop keeps the seed: the model answers one
label for 93-100% of the test examples. On the learn family's multiple-choice tasks (bbh:disambiguation_qa,
bbh:logical_deduction_three_objects) it ends within a few points of the majority (`--set choice`). This checks,
with no search at all, the two things a playbook could give the model, on the first `--limit` examples of the
task's test split (the same split its preset scores):
- `seed`: the preset's seed prompt, its 32-token answer budget;
- `shots`: the seed plus 8 worked examples from the training split, alternating between the labels (shown as
  conversation turns, as the loop shows its worked examples);
- `cot`: the seed plus "think step by step in a few short lines, then end with 'Answer: Yes' or 'Answer: No'"
  (for lettered options: "'Answer: ' and the option's letter in brackets"), with a 256-token budget (eight times
  the peers').
Accuracy with a 95% interval beside the majority baseline and the answer distribution. Writes
benchmarks/results/{binary,choice}_headroom.{json,md}.

    python -m benchmarks.binary_headroom --db runs/out/headroom.db [--limit 40] [--set binary|choice]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from promptlearn.bench.learn import learn_family_task, user_tasks
from promptlearn.bench.task import BenchTask
from promptlearn.data import Example
from promptlearn.evaluate import evaluate
from promptlearn.optimize.proposers import example_text, with_examples_section
from promptlearn.playbook import EXAMPLES_SECTION, Delta, Playbook
from promptlearn.store import Store

OUT = Path("benchmarks/results")
SHOTS = 8
_STEP_BY_STEP = "\nThink step by step in a few short lines, then end with one line: "
COT = (_STEP_BY_STEP + "'Answer: Yes' or 'Answer: No'.", 256)
COT_LETTER = (_STEP_BY_STEP + "'Answer: ' and the letter of the option in brackets, such as 'Answer: (A)'.", 256)
# Which tasks each set checks, and where each task's preset is defined (the first `--limit` of its test split).
SETS = {"binary": ("bbh:navigate", "bbh:web_of_lies"),
        "choice": ("bbh:disambiguation_qa", "bbh:logical_deduction_three_objects")}


def balanced_shots(train: list[Example], n: int = SHOTS) -> list[Example]:
    """Up to `n` training examples alternating between the labels (the first of each label, then the second)."""
    by_label: dict[str, list[Example]] = {}
    for example in train:
        by_label.setdefault(example.target, []).append(example)
    return [e for pair in zip(*by_label.values(), strict=False) for e in pair][:n]


def with_shots(prompt: str, shots: list[Example]) -> str:
    """The prompt with a playbook of worked examples, as the loop builds and renders them."""
    deltas = [Delta(op="add", section=EXAMPLES_SECTION, text=example_text(e.input, e.target), reason="headroom")
              for e in shots]
    return with_examples_section(Playbook(seed_prompt=prompt)).apply(deltas).playbook.render()


def conditions(task: BenchTask, train: list[Example]) -> dict[str, tuple[str, int]]:
    budget = task.models.task_max_tokens
    shots = with_shots(task.system_prompt, balanced_shots(train))
    lettered = all(e.target.strip().startswith("(") for e in train)
    cot_prompt, cot_budget = COT_LETTER if lettered else COT
    return {"seed": (task.system_prompt, budget), "shots": (shots, budget), "cot": (task.system_prompt + cot_prompt,
                                                                                     cot_budget)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="runs/out/headroom.db")
    parser.add_argument("--limit", type=int, default=40, help="test examples per task and condition")
    parser.add_argument("--set", choices=sorted(SETS), default="binary")
    args = parser.parse_args()
    store, rows = Store(args.db), []
    for task in tasks(SETS[args.set]):
        _dataset, splits, scorer = task.data()
        for name, (prompt, max_tokens) in conditions(task, list(splits.train)).items():
            started = time.monotonic()
            result = evaluate(splits.test, prompt, task.models.task, scorer, store=store, limit=args.limit,
                              name=f"headroom-{task.name}-{name}", max_tokens=max_tokens)
            rows.append({"task": task.name, "condition": name, "max_tokens": max_tokens, **result.summary(),
                         "wall_s": round(time.monotonic() - started, 1)})
            print(f"{task.name} {name}: {result.accuracy} majority {result.majority_accuracy:.2f} "
                  f"answers {result.answer_distribution}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"{args.set}_headroom"
    (OUT / f"{name}.json").write_text(json.dumps({"benchmark": name, "limit": args.limit,
                                                  "model": "local/qwen2.5-0.5b", "rows": rows}, indent=2))
    (OUT / f"{name}.md").write_text(markdown(rows, args.limit, args.set))


def tasks(names: tuple[str, ...]) -> list[BenchTask]:
    """The user preset's binary tasks as that preset runs them; any other BBH task as the learn family runs it."""
    user = {t.name: t for t in user_tasks()}
    found = [user.get(name) or learn_family_task(name) for name in names]
    return [t for t in found if t is not None]


def markdown(rows: list[dict], limit: int, which: str = "binary") -> str:
    title = {"binary": "Binary", "choice": "Multiple-choice"}[which]
    lines = [f"# {title} BBH tasks: headroom for a playbook with the 0.5B task model", "",
             f"First {limit} examples of the task's test split; no search. `shots`: 8 balanced worked "
             "examples from train as conversation turns; `cot`: a step-by-step instruction with 256 answer tokens.",
             "", "| task | condition | accuracy [95% CI] | majority | answers |", "| --- | --- | --- | ---: | --- |"]
    for r in rows:
        answers = ", ".join(f"{k} {v}" for k, v in r["answers"].items())
        cell = f"{r['accuracy']:.3f} [{r['low']:.2f}, {r['high']:.2f}]"
        lines.append(f"| {r['task']} | {r['condition']} | {cell} | {r['majority_accuracy']:.2f} | {answers} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
