"""Accuracy curves as image files, shared by the peer benchmark and the RL comparison: PNG when matplotlib is
importable (the `bench` extra; it is not a dependency of promptlearn), else a standalone SVG drawn by the
report's own chart code."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptlearn.report.charts import Series, line_chart

Point = dict[str, float]  # x, y (accuracy), low, high (its interval)


def point(x: float, row: Mapping[str, Any]) -> Point:
    """The point at `x` for a row with `accuracy`, `low` and `high`."""
    return {"x": x, "y": row["accuracy"], "low": row["low"], "high": row["high"]}

SVG_STYLE = ("<style>.grid{stroke:#e5e5e5}.axis{stroke:#444}.tick,.label,.legend text{font:11px sans-serif;"
             "fill:#333}.band{opacity:.15}.whisker{stroke-width:1.5}</style>")


def write_accuracy_plot(by_arm: Mapping[str, list[Point]], colors: Mapping[str, str], *, title: str,
                        x_label: str, y_label: str, stem: Path) -> Path:
    """One curve per arm with its interval as error bars; a single point is drawn without a line."""
    curves = {arm: sorted(points, key=lambda p: p["x"]) for arm, points in by_arm.items()}
    plt = _pyplot()
    # Appended, not with_suffix: a results name with a dot ("learn-1.5b") would lose everything after it.
    if plt is None:
        return _svg(curves, colors, title, x_label, y_label, stem.with_name(stem.name + ".svg"))
    return _png(plt, curves, colors, title, x_label, y_label, stem.with_name(stem.name + ".png"))


def _pyplot() -> Any:
    try:
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        return importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return None


def _png(plt: Any, curves: Mapping[str, list[Point]], colors: Mapping[str, str], title: str, x_label: str,
         y_label: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for arm, points in curves.items():
        xs, ys = [p["x"] for p in points], [p["y"] for p in points]
        errors = [[p["y"] - p["low"] for p in points], [p["high"] - p["y"] for p in points]]
        ax.errorbar(xs, ys, yerr=errors, label=arm, color=colors.get(arm), marker="o", capsize=3,
                    linestyle="-" if len(points) > 1 else "none")
    ax.set(title=title, xlabel=x_label, ylabel=y_label, ylim=(0, 1.03))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _svg(curves: Mapping[str, list[Point]], colors: Mapping[str, str], title: str, x_label: str, y_label: str,
         path: Path) -> Path:
    top = max([p["x"] for points in curves.values() for p in points] or [1.0])
    series = [Series(arm, colors.get(arm, "#333333"), points, line=len(points) > 1) for arm, points in curves.items()]
    chart = line_chart(series, title=title, x_label=x_label, y_label=y_label, x_range=(0.0, top * 1.05 or 1.0),
                       y_range=(0.0, 1.0), integer_x=False)
    # A standalone file has no page around it: it needs its namespace and the report's chart styles itself.
    chart = chart.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1).replace("</title>",
                                                                                         "</title>" + SVG_STYLE, 1)
    path.write_text(chart + "\n", encoding="utf-8")
    return path
