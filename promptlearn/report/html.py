"""Render the gathered report data as one self-contained HTML file: inline CSS, JS and SVG, no network."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from promptlearn.report.charts import Series, bar_list, line_chart

HERE = Path(__file__).parent
COLORS = {"val": "#2f6fde", "train": "#9aa3b5", "test": "#d9822b", "accepted": "#1f9d55", "rejected": "#d64545"}


@lru_cache(maxsize=1)
def environment() -> Environment:
    # Autoescape on: every stored text (model outputs, critiques, rules) is untrusted.
    return Environment(loader=FileSystemLoader(HERE), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def script_json(value: Any) -> Markup:
    """JSON safe inside a <script> element: no '<', '>' or '&' can end the element or open a comment."""
    text = json.dumps(value, sort_keys=True, default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def render(data: dict[str, Any]) -> str:
    env = environment()
    return env.get_template("report.html.j2").render(
        d=data, data_json=script_json(data), score_chart=Markup(score_chart(data["series"])),
        usage_charts=[Markup(c) for c in usage_charts(data["usage"])],
        failure_chart=Markup(bar_list(data["failure_modes"], title="failure modes of critiqued failures")),
        difficulty_chart=Markup(difficulty_chart(data.get("quality", {}))),
        objective_chart=Markup(objective_chart(data.get("objectives", {}))),
        style=Markup((HERE / "report.css").read_text(encoding="utf-8")),
        script=Markup((HERE / "report.js").read_text(encoding="utf-8")))


def difficulty_chart(quality: dict[str, Any]) -> str:
    hist = quality.get("difficulty")
    return bar_list(hist["buckets"], title="train examples by how often they were solved") if hist else ""


def objective_chart(objectives: dict[str, Any]) -> str:
    """Val accuracy against mean prompt tokens per rollout, one dot per measured version; the objective frontier
    (optimize/objectives.py) drawn as a line through its versions."""
    versions = objectives.get("versions") or {}
    if not versions:
        return ""
    front = set(objectives.get("frontier", []))

    def dot(number: str, p: dict[str, Any]) -> dict[str, Any]:
        tip = (f"v{number}: accuracy {p['accuracy']:.3f}, {p['prompt_tokens']:.0f} prompt tokens, "
               f"${p['cost_usd']:.6f}, {p['latency_s']:.2f}s per rollout")
        return {"x": p["prompt_tokens"], "y": p["accuracy"], "tip": tip}

    on = [dot(n, p) for n, p in versions.items() if int(n) in front]
    off = [dot(n, p) for n, p in versions.items() if int(n) not in front]
    xs = [p["prompt_tokens"] for p in versions.values()]
    pad = max(1.0, (max(xs) - min(xs)) * 0.1)
    series = [Series("objective frontier", COLORS["accepted"], on), Series("other versions", COLORS["train"], off,
                                                                          line=False)]
    return line_chart([s for s in series if s.points], title="objective frontier: val accuracy vs prompt tokens",
                      x_label="mean prompt tokens per rollout", y_label="val accuracy",
                      x_range=(max(0.0, min(xs) - pad), max(xs) + pad), y_range=(0.0, 1.0), integer_x=False)


def _tip(split: str, p: dict[str, Any]) -> dict[str, Any]:
    tip = f"{split} v{p['version']} (iteration {p['x']}): {p['mean']:.3f} [{p['low']:.3f}, {p['high']:.3f}] n={p['n']}"
    return {"x": p["x"], "y": p["mean"], "low": p["low"], "high": p["high"], "tip": tip}


def score_chart(series: dict[str, list[dict[str, Any]]]) -> str:
    last = series["last"][0]["x"] if series["last"] else 1
    candidates = series["candidates"]
    lines = [
        Series("train (current)", COLORS["train"], [_tip("train", p) for p in series["train"]], dash="4 3"),
        Series("val (current)", COLORS["val"], [_tip("val", p) for p in series["val"]]),
        Series("test", COLORS["test"], [_tip("test", p) for p in series["test"]], line=False),
        Series("accepted", COLORS["accepted"], [_tip("candidate val", p) for p in candidates if p["accepted"]],
               line=False),
        Series("rejected", COLORS["rejected"], [_tip("candidate val", p) for p in candidates if not p["accepted"]],
               line=False),
    ]
    return line_chart([s for s in lines if s.points], title="score over iterations (95% intervals)",
                      x_label="iteration", y_label="mean score", x_range=(0, max(last, 1)), y_range=(0.0, 1.0))


def usage_charts(usage: dict[str, Any]) -> list[str]:
    points = usage["points"]
    if not points:
        return []
    x_range = (0, points[-1]["x"])
    charts = [line_chart([Series("tokens", COLORS["val"], [{"x": p["x"], "y": p["tokens"]} for p in points])],
                         title="cumulative tokens", x_label="LM call (in order)", y_label="tokens", x_range=x_range)]
    if usage["cost_usd"] > 0:
        charts.append(line_chart([Series("cost (USD)", COLORS["test"], [{"x": p["x"], "y": p["cost"]}
                                                                         for p in points])],
                                 title="cumulative cost", x_label="LM call (in order)", y_label="USD",
                                 x_range=x_range))
    return charts
