"""Inline SVG charts drawn in Python: no JavaScript library and no network needed to view a report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

WIDTH, HEIGHT = 680, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 150, 16, 40


@dataclass(frozen=True)
class Series:
    """Points are dicts with `x`, `y`, and optionally `low`/`high` (drawn as a band) and `tip` (hover text)."""

    name: str
    color: str
    points: Sequence[dict[str, Any]]
    line: bool = True
    dash: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = step * int(low / step)
    ticks, value = [], start
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value / 1000:g}k" if abs(value) < 1_000_000 else f"{value / 1_000_000:g}M"
    return f"{value:g}"


def line_chart(series: Sequence[Series], *, title: str, x_label: str, y_label: str, x_range: tuple[float, float],
               y_range: tuple[float, float] | None = None, integer_x: bool = True) -> str:
    points = [p for s in series for p in s.points]
    if y_range is None:
        top = max([p.get("high", p["y"]) for p in points] or [1.0])
        y_range = (0.0, top * 1.05 or 1.0)
    (x0, x1), (y0, y1) = x_range, y_range
    x1 = x1 if x1 > x0 else x0 + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return round(LEFT + (x - x0) / (x1 - x0) * plot_w, 2)

    def sy(y: float) -> float:
        return round(TOP + plot_h - (min(max(y, y0), y1) - y0) / (y1 - y0) * plot_h, 2)

    out = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
           f"<title>{escape(title)}</title>"]
    for tick in nice_ticks(y0, y1):
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{sy(tick)}" y2="{sy(tick)}"/>'
                   f'<text class="tick" x="{LEFT - 6}" y="{sy(tick) + 4}" text-anchor="end">{_fmt(tick)}</text>')
    x_ticks = nice_ticks(x0, x1, min(8, int(x1 - x0)) if integer_x else 6)
    for tick in x_ticks if not integer_x else [t for t in x_ticks if t == int(t)]:
        out.append(f'<text class="tick" x="{sx(tick)}" y="{TOP + plot_h + 16}" text-anchor="middle">{_fmt(tick)}'
                   "</text>")
    out.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>'
               f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>'
               f'<text class="label" x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" text-anchor="middle">'
               f"{escape(x_label)}</text>"
               f'<text class="label" transform="translate(14 {TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">'
               f"{escape(y_label)}</text>")
    for index, s in enumerate(series):
        out.append(_series(s, sx, sy))
        y = TOP + 10 + index * 18
        mark = (f'<line x1="{WIDTH - RIGHT + 12}" x2="{WIDTH - RIGHT + 30}" y1="{y}" y2="{y}" stroke="{s.color}" '
                f'stroke-width="2" stroke-dasharray="{s.dash}"/>' if s.line else
                f'<circle cx="{WIDTH - RIGHT + 21}" cy="{y}" r="4" fill="{s.color}"/>')
        out.append(f'<g class="legend">{mark}<text x="{WIDTH - RIGHT + 36}" y="{y + 4}">{escape(s.name)}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _series(s: Series, sx: Any, sy: Any) -> str:
    pts = sorted(s.points, key=lambda p: p["x"])
    attrs = "".join(f' {escape(k)}="{escape(v)}"' for k, v in s.extra.items())
    parts = [f'<g class="series" data-series="{escape(s.name)}"{attrs}>']
    banded = [p for p in pts if "low" in p and "high" in p]
    if s.line and len(banded) > 1:
        upper = " ".join(f"{sx(p['x'])},{sy(p['high'])}" for p in banded)
        lower = " ".join(f"{sx(p['x'])},{sy(p['low'])}" for p in reversed(banded))
        parts.append(f'<polygon class="band" points="{upper} {lower}" fill="{s.color}"/>')
    for p in banded if not s.line or len(banded) == 1 else []:
        parts.append(f'<line class="whisker" x1="{sx(p["x"])}" x2="{sx(p["x"])}" y1="{sy(p["low"])}" '
                     f'y2="{sy(p["high"])}" stroke="{s.color}"/>')
    if s.line and len(pts) > 1:
        path = " ".join(f"{sx(p['x'])},{sy(p['y'])}" for p in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="2" '
                     f'stroke-dasharray="{s.dash}"/>')
    for p in pts if (not s.line or len(pts) <= 60) else []:
        tip = f"<title>{escape(p['tip'])}</title>" if p.get("tip") else ""
        parts.append(f'<circle cx="{sx(p["x"])}" cy="{sy(p["y"])}" r="{4 if s.line else 5}" fill="{s.color}">'
                     f"{tip}</circle>")
    parts.append("</g>")
    return "".join(parts)


def bar_list(items: Sequence[tuple[str, float]], *, title: str, color: str = "#6b7cd6") -> str:
    """Horizontal bars, one per label, longest first as given."""
    if not items:
        return ""
    row, label_w, bar_w = 22, 170, 380
    top = max(v for _k, v in items) or 1
    height = row * len(items) + 8
    out = [f'<svg class="chart bars" viewBox="0 0 {label_w + bar_w + 60} {height}" role="img" '
           f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for index, (label, value) in enumerate(items):
        y, w = 4 + index * row, max(1.0, value / top * bar_w)
        out.append(f'<text class="tick" x="{label_w - 8}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
                   f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" fill="{color}"/>'
                   f'<text class="tick" x="{label_w + w + 6}" y="{y + 14}">{_fmt(value)}</text>')
    out.append("</svg>")
    return "".join(out)
