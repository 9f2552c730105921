"""The benchmark's readable outputs: a Markdown table, and accuracy-vs-rollouts plots per task.

Plots are PNG when matplotlib is importable (it is not a dependency of promptlearn), else SVG drawn by the
report's own chart code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptlearn.report.charts import Series, line_chart

COLORS = {"seed": "#888888", "promptlearn": "#1f77b4", "gepa": "#d62728", "miprov2": "#ff7f0e",
          "full_rewrite": "#9467bd", "add_only": "#2ca02c"}
SVG_STYLE = ("<style>.grid{stroke:#e5e5e5}.axis{stroke:#444}.tick,.label,.legend text{font:11px sans-serif;"
             "fill:#333}.band{opacity:.15}.whisker{stroke-width:1.5}</style>")


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
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [_svg(data, task, out_dir / f"{name}-{_slug(task)}.svg") for task in data["tasks"]]
    return [_png(plt, data, task, out_dir / f"{name}-{_slug(task)}.png") for task in data["tasks"]]


def _slug(task: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in task)


def _svg(data: dict[str, Any], task: str, path: Path) -> Path:
    by_arm = series_by_arm(data, task)
    top = max([p["x"] for points in by_arm.values() for p in points] or [1.0])
    series = [Series(arm, COLORS.get(arm, "#333333"), points, line=len(points) > 1) for arm, points in by_arm.items()]
    chart = line_chart(series, title=f"{task}: test accuracy vs rollouts", x_label="task-model rollouts (learning)",
                       y_label="test accuracy", x_range=(0.0, top * 1.05 or 1.0), y_range=(0.0, 1.0),
                       integer_x=False)
    chart = chart.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1).replace("</title>",
                                                                                         "</title>" + SVG_STYLE, 1)
    path.write_text(chart + "\n", encoding="utf-8")
    return path


def _png(plt: Any, data: dict[str, Any], task: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for arm, points in series_by_arm(data, task).items():
        points = sorted(points, key=lambda p: p["x"])
        xs, ys = [p["x"] for p in points], [p["y"] for p in points]
        errors = [[p["y"] - p["low"] for p in points], [p["high"] - p["y"] for p in points]]
        ax.errorbar(xs, ys, yerr=errors, label=arm, color=COLORS.get(arm), marker="o", capsize=3,
                    linestyle="-" if len(points) > 1 else "none")
    ax.set(title=f"{task}: test accuracy vs rollouts", xlabel="task-model rollouts (learning)",
           ylabel="test accuracy", ylim=(0, 1.03))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
