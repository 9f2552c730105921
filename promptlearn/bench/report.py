"""The benchmark's readable outputs: a Markdown table, and accuracy-vs-rollouts plots per task.

Plots: promptlearn.report.plots (PNG with matplotlib, else SVG).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptlearn.report.plots import write_accuracy_plot

COLORS = {"seed": "#888888", "promptlearn": "#1f77b4", "gepa": "#d62728", "miprov2": "#ff7f0e",
          "full_rewrite": "#9467bd", "add_only": "#2ca02c"}


def _diff(d: dict[str, Any] | None) -> str:
    return "" if d is None else f"{d['diff']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"


def markdown(data: dict[str, Any]) -> str:
    models = data["models"]
    lines = [f"# Benchmark `{data['name']}`", "",
             f"Task model `{models['task']}`, reflection/rewriter model `{models['rewriter']}`; seeds "
             f"{', '.join(map(str, data['seeds']))}; rollout budgets {', '.join(map(str, data['budgets']))} "
             "(task-model calls spent learning; scoring on the test split is counted apart).", "",
             "Accuracy on the test split no arm learned from, with a 95% interval; differences are paired over the "
             "same test examples (bootstrap, 95%). Overhead is wall time minus time spent waiting on a model.", "",
             "| task | arm | budget | test accuracy [95% CI] | vs seed | vs GEPA | rollouts | tokens | LM s "
             "| overhead s | prompt tokens |",
             "| --- | --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in data["results"]:
        lines.append(
            f"| {row['task']} | {row['arm']} | {row['budget'] or ''} | {row['accuracy']:.3f} [{row['low']:.3f}, "
            f"{row['high']:.3f}] (n={row['n']}) | {_diff(row['diff_vs_seed'])} | {_diff(row['diff_vs_gepa'])} "
            f"| {row['rollouts']:.0f} | {row['tokens']:,.0f} | {row['lm_seconds']:.1f} | {row['overhead_s']:.1f} "
            f"| {row['playbook_tokens']:.0f} |")
    lines += ["", "Majority-class baseline on test (always the most common answer):", ""]
    for row in data["results"]:
        if row["arm"] == "seed":
            lines.append(f"- {row['task']}: {row['majority_accuracy']:.3f}")
    return "\n".join(lines) + "\n"


def write_markdown(data: dict[str, Any], path: Path) -> Path:
    path.write_text(markdown(data), encoding="utf-8")
    return path


def series_by_arm(data: dict[str, Any], task: str) -> dict[str, list[dict[str, float]]]:
    """Per arm, one point per budget: mean rollouts used, pooled test accuracy and its interval."""
    out: dict[str, list[dict[str, float]]] = {}
    for row in data["results"]:
        if row["task"] == task:
            out.setdefault(row["arm"], []).append({"x": row["rollouts"], "y": row["accuracy"], "low": row["low"],
                                                   "high": row["high"]})
    return out


def write_plots(data: dict[str, Any], out_dir: Path, name: str) -> list[Path]:
    return [write_accuracy_plot(series_by_arm(data, task), COLORS, title=f"{task}: test accuracy vs rollouts",
                                x_label="task-model rollouts (learning)", y_label="test accuracy",
                                stem=out_dir / f"{name}-{_slug(task)}") for task in data["tasks"]]


def _slug(task: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in task)
