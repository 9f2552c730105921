"""Critiques worth learning from: does the explanatory judge's verdict agree with the code's?

A balanced set of the learn tasks' rollouts already stored by `make bench-learn` (the seed prompt's answers on
test: the judge never sees them during learning, so this costs no learning data): `--per-verdict` passing and as
many failing rollouts per task, judged by the judge model; agreement with the code scorer's verdict and the
share of unparseable judge replies, per task and pooled, with Wilson intervals. Writes
benchmarks/results/judge_trust.{json,md}.

    python -m benchmarks.judge_trust --db runs/out/learn.db [--per-verdict 10]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from promptlearn.bench.learn import LEARN_MODELS, learn_tasks
from promptlearn.data import Example
from promptlearn.judging import ExplanatoryJudge
from promptlearn.lm import build_lm
from promptlearn.stats import wilson_interval
from promptlearn.store import Store

OUT = Path("benchmarks/results")


def seed_rollouts(store: Store, task_name: str) -> list[tuple[Example, str, bool]]:
    runs = [r for r in store.list_runs(limit=100_000) if r.name == f"bench-seed-{task_name}" and r.kind == "eval"]
    if not runs:
        return []
    examples = {e.example_id: Example(e.example_id, e.input, e.target) for e in store.examples(runs[0].id)}
    return [(examples[r.example_id], r.output, r.score >= 1.0) for r in store.rollouts(runs[0].id)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="runs/out/learn.db")
    parser.add_argument("--per-verdict", type=int, default=10, help="passing and failing rollouts per task")
    parser.add_argument("--tasks", default="", help="comma-separated learn task names (default: all)")
    args = parser.parse_args()
    store = Store(args.db)
    run_id = store.create_run("bench", "judge-trust", {"per_verdict": args.per_verdict, "tasks": args.tasks})
    judge = ExplanatoryJudge(build_lm(store, run_id), LEARN_MODELS.judge)
    rows, pooled = [], {"n": 0, "agree": 0, "unparseable": 0, "pass": 0, "fail": 0}
    wanted = {name for name in args.tasks.split(",") if name}
    for task in [t for t in learn_tasks() if not wanted or t.name in wanted]:
        stored = seed_rollouts(store, task.name)
        rng = random.Random(0)
        chosen = [x for want in (True, False)
                  for x in rng.sample([s for s in stored if s[2] == want],
                                      min(args.per_verdict, sum(s[2] == want for s in stored)))]
        agree = bad = 0
        for example, output, correct in chosen:
            verdict = judge.judge(task.system_prompt, example, output)
            agree += int(verdict.verdict == ("pass" if correct else "fail"))
            bad += int(not verdict.parsed)
        n = len(chosen)
        if n:
            ci = wilson_interval(agree, n)
            rows.append({"task": task.name, "n": n, "passing": sum(c for *_x, c in chosen), "agreement": agree / n,
                         "low": ci.low, "high": ci.high, "unparseable": bad / n})
            print(json.dumps(rows[-1]), flush=True)
        pooled["n"] += n
        pooled["agree"] += agree
        pooled["unparseable"] += bad
        pooled["pass"] += sum(c for *_x, c in chosen)
    ci = wilson_interval(pooled["agree"], max(1, pooled["n"]))
    summary = {"judge": LEARN_MODELS.judge, "rows": rows, "pooled": {
        "n": pooled["n"], "passing": pooled["pass"], "agreement": pooled["agree"] / max(1, pooled["n"]),
        "low": ci.low, "high": ci.high, "unparseable": pooled["unparseable"] / max(1, pooled["n"])},
        "target": "agreement >= 0.85 and unparseable < 0.05 on >= 40 passing and >= 40 failing rollouts"}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "judge_trust.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    lines = ["# Judge trust (judge verdict vs the code scorer's, balanced seed rollouts of the learn tasks)", "",
             f"Judge `{LEARN_MODELS.judge}`. Agreement with a 95% Wilson interval.", "",
             "| task | n (passing) | agreement | unparseable |", "| --- | --- | --- | --- |"]
    for r in [*rows, {"task": "pooled", **summary["pooled"]}]:
        lines.append(f"| {r['task']} | {r['n']} ({r['passing']}) | {r['agreement']:.2f} [{r['low']:.2f}, "
                     f"{r['high']:.2f}] | {r['unparseable']:.2f} |")
    (OUT / "judge_trust.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
