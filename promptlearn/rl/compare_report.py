"""The comparison's readable outputs, in the benchmark's format: a Markdown table and two PNG curves.

Curves: test accuracy against learning rollouts, and against compute seconds (promptlearn.report.plots: PNG with
matplotlib, else SVG, as for the benchmark).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptlearn.config import GateConfig
from promptlearn.report.plots import point, write_accuracy_plot
from promptlearn.report.tables import diff_cell, interval_cell

COLORS = {"seed": "#888888", "prompt": "#1f77b4", "rl": "#d62728"}
AXES = {"rollouts": "task-model rollouts (learning)", "compute_s": "compute seconds (learning)"}


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "" if value is None else format(value, fmt)


def _ood(row: dict[str, Any]) -> str:
    ood = row["ood"]
    flag = " **cliff**" if ood["cliff"] else ""
    shift = diff_cell(ood["shift"]) or "+0.000"
    return f"{interval_cell(ood['before'])} → {interval_cell(ood['after'])} ({shift}){flag}"


def markdown(data: dict[str, Any]) -> str:
    m = data["models"]
    lines = [
        f"# Prompt learning vs RL (GRPO + LoRA): `{data['task']}`", "",
        f"Base model `{m['model']}`. Every arm is scored by the same backend: `{m['eval_backend']}` (transformers, "
        f"greedy, {data['max_tokens']} tokens) on the same {data['n_test']} untouched test examples, with "
        f"promptlearn's `evaluate` and scorer `{data['scorer']}`. The prompt arm learned through `{m['learn_model']}` "
        f"(judge `{m['judge']}`, rewriter `{m['rewriter']}`) but is scored on the HF base model like the others.", "",
        f"Matched budget: {data['budget']} task-model rollouts for learning (prompt arm: train + val rollouts; RL: "
        "steps x prompts per step x generations). Wall s: learning wall time incl. model loading; compute s: time "
        "inside the models while learning (prompt arm: task, judge and rewriter calls; RL: sampling + update "
        "steps). Test and OOD scoring are counted apart.", "",
        f"Out of domain: `{data['ood']}` ({data['n_ood']} examples), seed prompt on the base model before, the arm "
        "after (RL: the seed prompt on base + LoRA). **cliff**: the 95% paired bootstrap interval of the change "
        "lies wholly below 0.", "",
        "| arm | test acc [95% CI] | vs seed (paired) | OOD before → after [95% CI] (change) | Brier | ECE "
        "| rollouts | wall s | compute s |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in data["results"]:
        lines.append(f"| {row['arm']} | {interval_cell(row)} | {diff_cell(row['diff_vs_seed'])} | {_ood(row)} "
                     f"| {_num(row['brier'])} | {_num(row['ece'])} | {row['rollouts']} | {row['wall_s']:.0f} "
                     f"| {row['compute_s']:.0f} |")
    lines += ["", _calibration_note(data), "", *_collapse_notes(data), *_notes(data)]
    return "\n".join(lines) + "\n"


# The prompt gate's default `max_label_share`: the same yardstick for both arms.
COLLAPSE_SHARE: float = GateConfig.model_fields["max_label_share"].default


def _collapse_notes(data: dict[str, Any]) -> list[str]:
    """An arm whose answers collapsed onto one label gains by guessing the majority, not by learning the task:
    say so beside the table (the prompt gate refuses such candidates; RL has no such gate)."""
    out = []
    for row in data["results"]:
        answers = {k: v for k, v in (row.get("answers") or {}).items() if k != "(unparsed)"}
        total = sum((row.get("answers") or {}).values())
        if not answers or not total:
            continue
        label, count = max(answers.items(), key=lambda item: item[1])
        if count / total >= COLLAPSE_SHARE:
            out.append(f"- {row['arm']}: answers collapsed onto '{label}' ({count}/{total}); the majority-class "
                       f"baseline on test is {row.get('majority_accuracy', 0):.3f}.")
    return out


def _calibration_note(data: dict[str, Any]) -> str:
    if not data["confidence"]:
        return "Confidence was not elicited (run with `--confidence` for Brier and ECE)."
    stated = ", ".join(f"{r['arm']} {r['stated']}/{r['n']}" for r in data["results"])
    return ("Confidence elicited with promptlearn's `CONFIDENCE_INSTRUCTION` appended to every arm's system prompt; "
            f"the line is removed before scoring. Brier/ECE over replies that stated one: {stated}.")


def _notes(data: dict[str, Any]) -> list[str]:
    by_arm = {r["arm"]: r for r in data["results"]}
    prompt, rl = by_arm["prompt"], by_arm["rl"]
    llama = prompt["notes"].get("learn_model_test") or {}
    out = [f"- RL: {rl['notes']['steps']} GRPO steps x {data['rollouts_per_step']} completions = {rl['rollouts']} "
           f"rollouts, matched to the {prompt['rollouts']} the prompt arm spent (stop: "
           f"{prompt['notes'].get('stop_reason', '')})."]
    if llama:
        out.append(f"- The prompt arm's own test scoring through `{data['models']['learn_model']}`: seed "
                   f"{llama['seed']:.3f}, learned {llama['final']:.3f} (not in the table: another backend).")
    if rl["notes"].get("resumed_from"):
        out.append(f"- RL training resumed from `{rl['notes']['resumed_from']}`.")
    out.append("- Merge the adapter: see docs/rl.md (\"Compare\").")
    return out


def series(data: dict[str, Any], x: str) -> dict[str, list[dict[str, float]]]:
    out: dict[str, list[dict[str, float]]] = {}
    for p in data["points"]:
        out.setdefault(p["arm"], []).append(point(p[x], p))
    return out


def write_plots(data: dict[str, Any], out_dir: Path, name: str) -> list[Path]:
    return [write_accuracy_plot(series(data, x), COLORS, title=_title(data, x), x_label=AXES[x],
                                y_label="test accuracy (HF backend)", stem=out_dir / f"{name}-{suffix}")
            for x, suffix in (("rollouts", "rollouts"), ("compute_s", "time"))]


def _title(data: dict[str, Any], x: str) -> str:
    return f"{data['task']}: test accuracy vs {'rollouts' if x == 'rollouts' else 'compute time'}"
