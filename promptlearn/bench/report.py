"""The benchmark's readable outputs: a Markdown table, and accuracy-vs-rollouts plots per task.

Plots: promptlearn.report.plots (PNG with matplotlib, else SVG).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptlearn.report.plots import point, write_accuracy_plot
from promptlearn.report.tables import diff_cell, interval_cell

COLORS = {"seed": "#888888", "promptlearn": "#1f77b4", "gepa": "#d62728", "miprov2": "#ff7f0e",
          "full_rewrite": "#9467bd", "add_only": "#2ca02c", "no_examples": "#17becf", "no_screen": "#8c564b",
          "no_judge": "#bcbd22", "judge": "#e377c2", "no_extension": "#7f7f7f", "rules_first": "#aec7e8"}
# The peers each arm is compared with, paired over the same test examples: `diff_vs_<peer>` in every row (None for
# the peer itself, or where the peer did not run). MIPROv2 with demos is the peer to beat on classification.
PEER_TITLES = {"gepa": "GEPA", "miprov2": "MIPROv2"}
PEERS = tuple(PEER_TITLES)


def _answers(row: dict[str, Any], top: int = 3) -> str:
    answers = row.get("answers") or {}
    total = max(1, sum(answers.values()))
    shown = [f"{label} {count / total:.0%}" for label, count in list(answers.items())[:top] if label != "(unparsed)"]
    return ", ".join(shown) + f"; unparsed {answers.get('(unparsed)', 0) / total:.0%}"


def _peer_diffs(row: dict[str, Any]) -> str:
    """The `vs GEPA | vs MIPROv2` cells (results files written before MIPROv2 had a column have no such key)."""
    return " | ".join(diff_cell(row.get(f"diff_vs_{peer}")) for peer in PEERS)


def _peer_headers(prefix: str) -> str:
    return " | ".join(f"{prefix}vs {title}" for title in PEER_TITLES.values())


def _curve(row: dict[str, Any]) -> str:
    return ", ".join(f"{c['rollouts']}: {c['accuracy']:.3f}" for c in row.get("checkpoints") or [])


def summary_table(data: dict[str, Any]) -> list[str]:
    """One row per task, one column per arm: test accuracy [95% CI], paired difference vs seed where it is
    significant, learning rollouts and reflection calls; the majority-class baseline beside the task."""
    arms = list(data["arms"])  # every arm asked for: one not run yet (stored_only) shows as "not run"
    lines = ["| task (majority) | " + " | ".join(arms) + " |", "| --- |" + " --- |" * len(arms)]
    for task in data["tasks"]:
        rows = {r["arm"]: r for r in data["results"] if r["task"] == task}
        majority = next(iter(rows.values()))["majority_accuracy"]
        cells = []
        for arm in arms:
            row = rows.get(arm)
            if row is None:
                cells.append("not run")
                continue
            cell = f"{row['accuracy']:.3f} [{row['low']:.2f}, {row['high']:.2f}]"
            diff = row.get("diff_vs_seed")
            if diff and (diff["low"] > 0 or diff["high"] < 0):
                cell += f" ({diff['diff']:+.3f} vs seed)"
            if arm != "seed":
                cell += f"; {row['rollouts']:.0f} rollouts, {row.get('reflection_calls', 0):.0f} refl."
            cells.append(cell)
        lines.append(f"| {task} ({majority:.2f}) | " + " | ".join(cells) + " |")
    return lines


def pooled_lines(data: dict[str, Any]) -> list[str]:
    rows = data.get("pooled") or []
    if not rows:
        return []
    lines = ["Over the tasks each arm ran: mean test accuracy, and the paired difference pooled over all their test "
             "examples.", "", f"| arm | tasks | mean accuracy | pooled vs seed | {_peer_headers('pooled ')} |",
             "| --- | --- | ---: | --- |" + " --- |" * len(PEERS)]
    for row in rows:
        lines.append(f"| {row['arm']} | {len(row['tasks'])} | {row['mean_accuracy']:.3f} "
                     f"| {diff_cell(row['diff_vs_seed'])} | {_peer_diffs(row)} |")
    return [*lines, ""]


def error_kind_lines(data: dict[str, Any]) -> list[str]:
    """Tool calls: each arm's failed test answers by kind of error (the bfcl scorer's), where any were counted."""
    tasks = {r["task"] for r in data["results"] if r.get("error_kinds")}
    rows = [r for r in data["results"] if r["task"] in tasks]
    if not rows:
        return []
    kinds = list(dict.fromkeys(k for r in rows for k in r.get("error_kinds", {})))
    lines = ["## Errors by kind", "", "Failed test answers by the kind of error BFCL's checker found (counts over "
             "seeds).", "", "| task | arm | " + " | ".join(kinds) + " |", "| --- | --- |" + " ---: |" * len(kinds)]
    for r in rows:
        counts = r.get("error_kinds", {})
        lines.append(f"| {r['task']} | {r['arm']} | " + " | ".join(str(counts.get(k, 0)) for k in kinds) + " |")
    return [*lines, ""]


def markdown(data: dict[str, Any]) -> str:
    models = data["models"]
    lines = [f"# Benchmark `{data['name']}`", "", "## Summary", "", *summary_table(data), "",
             "Intervals are 95%; a difference vs seed is shown where its paired 95% interval excludes zero; "
             "rollouts = task-model calls spent learning; refl. = reflection-model calls (judge, rewriter, GEPA's "
             "reflection, MIPROv2's proposer).", "", *pooled_lines(data), *error_kind_lines(data), "## Every arm", "",
             f"Task model `{models['task']}`, reflection/rewriter/judge model `{models['rewriter']}`; seeds "
             f"{', '.join(map(str, data['seeds']))}; rollout budgets {', '.join(map(str, data['budgets']))} "
             "(task-model calls spent learning, on train and val; scoring on the test split is counted apart).", "",
             "Accuracy on the test split no arm learned from, with a 95% interval; differences are paired over the "
             "same test examples (bootstrap, 95%). Reflection = judge, rewriter, GEPA's reflection and MIPROv2's "
             "proposer calls. Majority = always giving the test split's most common answer. Overhead is wall time "
             "minus time spent waiting on a model.", "",
             f"| task | arm | test accuracy [95% CI] | vs seed | {_peer_headers('')} | majority "
             "| answers (top; unparsed) | learning rollouts | at 50 / 100 | reflection calls | reflection tokens "
             "| wall s | LM s | prompt tokens |",
             "| --- | --- | --- | --- |" + " --- |" * len(PEERS)
             + " ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in data["results"]:
        below = " (below majority)" if row["accuracy"] < row["majority_accuracy"] else ""
        lines.append(
            f"| {row['task']} | {row['arm']} | {interval_cell(row)} "
            f"(n={row['n']}){below} | {diff_cell(row['diff_vs_seed'])} | {_peer_diffs(row)} "
            f"| {row['majority_accuracy']:.3f} | {_answers(row)} | {row['rollouts']:.0f} | {_curve(row)} "
            f"| {row.get('reflection_calls', 0):.0f} | {row.get('reflection_tokens', 0):,.0f} | {row['wall_s']:.0f} "
            f"| {row['lm_seconds']:.0f} | {row['playbook_tokens']:.0f} |")
    return "\n".join(lines) + "\n"


def series_by_arm(data: dict[str, Any], task: str) -> dict[str, list[dict[str, float]]]:
    """Per arm, one point per budget: mean rollouts used, pooled test accuracy and its interval."""
    out: dict[str, list[dict[str, float]]] = {}
    for row in data["results"]:
        if row["task"] == task:
            series = out.setdefault(row["arm"], [])
            series.extend(point(c["rollouts"], c) for c in row.get("checkpoints") or []
                          if c["rollouts"] < row["rollouts"])
            series.append(point(row["rollouts"], row))
    return out


def write_plots(data: dict[str, Any], out_dir: Path, name: str) -> list[Path]:
    return [write_accuracy_plot(series_by_arm(data, task), COLORS, title=f"{task}: test accuracy vs rollouts",
                                x_label="task-model rollouts (learning)", y_label="test accuracy",
                                stem=out_dir / f"{name}-{_slug(task)}") for task in data["tasks"]]


def _slug(task: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in task)
