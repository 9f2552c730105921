"""Online learning on a simulated production stream (issue #18): does learning from user feedback improve later
traffic?

CLINC150 `banking` (the learn task's own train / test splits, in its seeded order) stands in for production:
1. the first `--stream` train examples are served with the seed prompt by the task model; simulated users rate
   30% of the shown outputs (thumbs up when the task's scorer says the output is right, else down) and correct a
   tenth of the thumbs-down with the true label; the labels are used for nothing else. The calls go to a JSONL
   trace log, imported as a stream (a rerun imports nothing new);
2. the online learner takes the stream in batches of `--batch`, replaying `--replay` earlier traces. An intent is
   a label (`outputs_are_labels`): a thumbs-up answer is that trace's answer, and traces with a known answer
   (approved, or corrected) are the worked examples a candidate may show; unrated traces stay out of the gate
   (`--unrated skip`) because the rubric judge agreed with the users on only half of the rated ones;
3. the seed prompt and the learned playbook answer the first `--test` test examples (later traffic), scored
   against the held-back labels: accuracies with 95% intervals, the paired difference with its 95% bootstrap
   interval, beside the majority baseline and the answer distributions.

Every model call goes through the store's LM cache, so a rerun replays. Writes online_stream.{json,md}.

    python -m benchmarks.online_stream --db runs/out/online.db [--stream 200 --batch 100 --replay 40 --test 100]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from promptlearn.bench.learn import LEARN_MODELS, clinc_intents, clinc_seed_prompt, clinc_task
from promptlearn.bench.task import BenchTask
from promptlearn.config import LearnConfig, OnlineConfig, TracesConfig
from promptlearn.data import Dataset, Example
from promptlearn.evaluate import EvalResult, evaluate
from promptlearn.lm import LM
from promptlearn.stats import paired_bootstrap
from promptlearn.store import Store
from promptlearn.store.quality import detail
from promptlearn.store.traces import BATCH_RECORD
from promptlearn.traces import import_traces
from promptlearn.traces.online import OnlineLearner

DOMAIN = "banking"
RATE = 0.30  # the share of shown outputs a user rates
CORRECT_RATE = 0.10  # the share of thumbs-down that come with the right answer


def slices(stream_n: int, test_n: int) -> tuple[BenchTask, list[Example], list[Example]]:
    """The learn task, the stream (its first train examples, seeded order) and later traffic (its first test)."""
    task = replace(clinc_task(DOMAIN), train=stream_n, test=test_n)
    dataset, splits, _scorer = task.data()
    assert task.split_column is not None  # CLINC keeps the dataset's own splits
    drawn = {e.id for e in splits.train.examples}  # the split keeps file order: the stream takes the draw's
    stream = [e for e in dataset.in_draw_order(task.seed, task.split_column, "train") if e.id in drawn]
    return task, stream, list(splits.test.examples)


def answer(store: Store, task: BenchTask, prompt: str, examples: list[Example], name: str,
           inner: LM | None) -> EvalResult:
    """The task model's answers to `examples` under `prompt`, scored by the task's scorer (an eval run)."""
    models = task.models
    return evaluate(Dataset(name, tuple(examples), f"clinc150:{DOMAIN}"), prompt, models.task, task.scorer,
                    lm=inner, store=store, name=f"online-stream-{name}", max_tokens=models.task_max_tokens)


def simulate_users(served: EvalResult, prompt: str, seed: int, rate: float = RATE,
                   correction_rate: float = CORRECT_RATE) -> list[dict[str, Any]]:
    """One trace log line per served call; a seeded user rates some (the labels decide up or down, nothing else)."""
    users = random.Random(f"online-stream-users:{seed}")
    lines = []
    for result in served.results:
        rated, corrects = users.random() < rate, users.random() < correction_rate  # two draws a call, always
        line: dict[str, Any] = {"id": result.example.id, "input": result.example.input, "output": result.output,
                                "metadata": {"system_prompt": prompt, "model": LEARN_MODELS.task}}
        if rated:
            line["feedback"] = {"label": "thumbs_up" if result.correct else "thumbs_down"}
            if not result.correct and corrects:
                line["feedback"]["correction"] = result.example.target
        lines.append(line)
    return lines


def feedback_counts(lines: list[dict[str, Any]]) -> dict[str, int]:
    labels = Counter(line.get("feedback", {}).get("label", "none") for line in lines)
    return {"traces": len(lines), "rated": len(lines) - labels["none"], "thumbs_up": labels["thumbs_up"],
            "thumbs_down": labels["thumbs_down"],
            "corrections": sum("correction" in line.get("feedback", {}) for line in lines)}


def batch_outcomes(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Every finished batch of the online run (this invocation's and earlier ones')."""
    return [{"batch": int(row.key), "traces": int(row.value or 0), "version": row.version_number,
             "accepted": detail(row).get("accepted"), "note": detail(row).get("note", "")}
            for row in store.quality(run_id, kind=BATCH_RECORD)]


def calls_made(store: Store, run_id: str | None, task_model: str) -> dict[str, dict[str, float]]:
    """Model calls a run made (cache hits not counted), by role: task, judge, rewriter."""
    out: dict[str, dict[str, float]] = {}
    for row in store.calls_of_run(run_id) if run_id else []:
        role = "task" if row.model == task_model else "rewriter" if '"deltas"' in row.request_json else "judge"
        cell = out.setdefault(role, {"calls": 0, "tokens": 0, "lm_seconds": 0.0})
        cell["calls"] += 1
        cell["tokens"] += row.prompt_tokens + row.completion_tokens
        cell["lm_seconds"] = round(cell["lm_seconds"] + row.latency_s, 1)
    return out


def described(result: EvalResult) -> dict[str, Any]:
    """Accuracy with its 95% interval, the majority baseline, the top 3 answers and the unparsed share."""
    answers = dict(result.answer_distribution)
    unparsed = answers.pop("(unparsed)", 0)
    n = len(result.results)
    return {**result.accuracy.as_dict("accuracy"), "majority_label": result.majority_label,
            "majority_accuracy": result.majority_accuracy,
            "top_answers": dict(Counter(answers).most_common(3)), "unparsed": unparsed / n if n else 0.0}


def run(db: str = "runs/out/online.db", out_dir: str = "benchmarks/results", stream: int = 200, batch: int = 100,
        replay: int = 40, test: int = 100, seed: int = 0, candidates: int = 1, rate: float = RATE,
        correction_rate: float = CORRECT_RATE, worked_examples: int = 8, labels: bool = True,
        unrated: Literal["rubric", "skip"] = "skip", inner: LM | None = None) -> dict[str, Any]:
    """The whole benchmark; `inner` replaces the real models (a FakeLM in tests). Returns what it writes."""
    started = time.monotonic()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    store = Store(db)
    task, stream_examples, later = slices(stream, test)
    prompt = clinc_seed_prompt(DOMAIN, clinc_intents(DOMAIN))
    assert prompt == task.system_prompt

    served = answer(store, task, prompt, stream_examples, "serve", inner)
    lines = simulate_users(served, prompt, seed, rate, correction_rate)
    log = out / "online_stream_traces.jsonl"
    log.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    users = "" if (rate, correction_rate) == (RATE, CORRECT_RATE) else f"-u{rate:g}-{correction_rate:g}"
    stream_name = f"clinc-{DOMAIN}-n{stream}-s{seed}{users}"  # other users' feedback: another stream
    traces = TracesConfig(stream=stream_name)
    imported = import_traces(store, log, traces, fmt="jsonl")

    # An intent is a label: an approved answer is the trace's answer and a worked example (outputs_are_labels);
    # the rubric judge disagreed with the users on half the rated traces, so unrated ones are left out of the gate.
    cfg = OnlineConfig(name=f"online-stream-b{batch}-r{replay}-c{candidates}-w{worked_examples}"
                       f"{'-labels' if labels else ''}-{unrated}", system_prompt=prompt, traces=traces,
                       scorer=task.scorer, models=task.models, batch=batch, replay=replay, seed=seed,
                       outputs_are_labels=labels, unrated=unrated,
                       learn=LearnConfig(candidates=candidates, worked_examples=worked_examples,
                                         playbook_max_tokens=700))
    learner = OnlineLearner(cfg, store, inner=inner, on_note=lambda text: print(text, flush=True))
    learned = learner.run_once()
    final_prompt = learned.playbook.render()

    seed_eval = answer(store, task, prompt, later, "test-seed", inner)
    final_eval = answer(store, task, final_prompt, later, "test-final", inner)
    paired = paired_bootstrap([r.score for r in seed_eval.results], [r.score for r in final_eval.results],
                              confidence=0.95, seed=seed)
    batches = batch_outcomes(store, learned.run_id)
    summary = {
        "task": f"clinc-{DOMAIN}", "models": task.models.model_dump(include={"task", "judge", "rewriter"}),
        "settings": {"stream": stream, "batch": batch, "replay": replay, "test": test, "seed": seed,
                     "candidates": candidates, "rate": rate, "correction_rate": correction_rate,
                     "worked_examples": worked_examples, "outputs_are_labels": labels, "unrated": unrated},
        "stream": {"name": stream_name, "served_accuracy": served.accuracy.as_dict("accuracy"),
                   **feedback_counts(lines), "log": str(log), "import": imported.as_dict()},
        "online": {"run_id": learned.run_id, "batches": batches, "batches_run_now": len(learned.batches),
                   "accepted_versions": [b["accepted"] for b in batches if b["accepted"] is not None],
                   "final_version": learned.version, "judge_trust": learned.trust,
                   "calls": calls_made(store, learned.run_id, task.models.task)},
        "test": {"seed": described(seed_eval), "final": described(final_eval), "paired_diff": paired.as_dict()},
        "fresh_calls": {name: calls_made(store, r.run_id, task.models.task)
                        for name, r in (("serve", served), ("test_seed", seed_eval), ("test_final", final_eval))},
        "seed_prompt": prompt, "final_prompt": final_prompt, "wall_s": round(time.monotonic() - started, 1),
    }
    (out / "online_stream.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out / "online_stream.md").write_text(markdown(summary), encoding="utf-8")
    return summary


def _acc(cell: dict[str, Any]) -> str:
    return f"{cell['accuracy']:.2f} [{cell['low']:.2f}, {cell['high']:.2f}]"


def markdown(s: dict[str, Any]) -> str:
    st, on, te = s["stream"], s["online"], s["test"]
    d = te["paired_diff"]
    calls = on["calls"]
    lines = [
        f"# Online learning on a simulated stream ({s['task']})", "",
        f"Task model `{s['models']['task']}`, judge and rewriter `{s['models']['judge']}`. Stream: {st['traces']} "
        f"served calls; users rated {st['rated']} ({st['thumbs_up']} up, {st['thumbs_down']} down, "
        f"{st['corrections']} corrections). {len(on['batches'])} batches of {s['settings']['batch']} (replay "
        f"{s['settings']['replay']}), accepted versions: {on['accepted_versions'] or 'none'}. Judge trust "
        f"(agreement with users): {on['judge_trust'].get('agreement', float('nan')):.2f} "
        f"(n={on['judge_trust'].get('n', 0)}). Reflection calls: "
        f"{sum(calls.get(r, {}).get('calls', 0) for r in ('judge', 'rewriter'))} "
        f"({sum(calls.get(r, {}).get('tokens', 0) for r in ('judge', 'rewriter'))} tokens). Wall {s['wall_s']} s.", "",
        f"Later traffic: the first {s['settings']['test']} test examples, scored against the held-back labels "
        "(95% Wilson intervals; difference: paired bootstrap, 95%).", "",
        "| prompt | accuracy | majority baseline | top answers | unparsed |", "| --- | --- | --- | --- | --- |"]
    for name in ("seed", "final"):
        c = te[name]
        top = ", ".join(f"{k} {v}" for k, v in c["top_answers"].items())
        lines.append(f"| {name} | {_acc(c)} | {c['majority_accuracy']:.2f} ({c['majority_label']}) | {top} | "
                     f"{c['unparsed']:.0%} |")
    lines += ["", f"Difference (final - seed): {d['diff']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}] "
              f"(wins {d['wins']}, losses {d['losses']}).", "", "## Batches", ""]
    lines += [f"- batch {b['batch']} ({b['traces']} traces): {b['note']}" for b in on["batches"]]
    lines += ["", "## Learned prompt", "", "```", s["final_prompt"], "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", default="runs/out/online.db")
    parser.add_argument("--out-dir", default="benchmarks/results")
    parser.add_argument("--stream", type=int, default=200, help="served train examples (the production stream)")
    parser.add_argument("--batch", type=int, default=100, help="new traces per online update (two updates on 200)")
    parser.add_argument("--replay", type=int, default=40, help="earlier traces every candidate is also scored on")
    parser.add_argument("--worked-examples", type=int, default=8, help="worked examples per candidate (0: off)")
    parser.add_argument("--free-text", action="store_true", help="outputs are not labels: approved outputs are "
                        "not answers, only corrections are")
    parser.add_argument("--unrated", choices=("rubric", "skip"), default="skip",
                        help="traces nobody rated: judged by the rubric judge in the gate, or left out")
    parser.add_argument("--test", type=int, default=100, help="test examples scored as later traffic")
    parser.add_argument("--seed", type=int, default=0, help="the simulated users' seed (and the learner's)")
    parser.add_argument("--candidates", type=int, default=1, help="rewriter candidates per batch")
    parser.add_argument("--rate", type=float, default=RATE, help="share of shown outputs the users rate")
    parser.add_argument("--correction-rate", type=float, default=CORRECT_RATE,
                        help="share of thumbs-down that come with the right answer")
    args = parser.parse_args()
    summary = run(args.db, args.out_dir, args.stream, args.batch, args.replay, args.test, args.seed,
                  args.candidates, args.rate, args.correction_rate, args.worked_examples, not args.free_text,
                  args.unrated)
    print(json.dumps(summary["test"], indent=2))


if __name__ == "__main__":
    main()
