"""Cells shared by the Markdown tables of the peer benchmark (bench/report.py) and the RL comparison
(rl/compare_report.py)."""

from __future__ import annotations

from typing import Any


def interval_cell(row: dict[str, Any]) -> str:
    """`0.812 [0.700, 0.890]`: an accuracy and its interval."""
    return f"{row['accuracy']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"


def diff_cell(diff: dict[str, Any] | None) -> str:
    """`+0.050 [-0.010, +0.110]`: a paired difference and its interval; empty where there is none."""
    return "" if diff is None else f"{diff['diff']:+.3f} [{diff['low']:+.3f}, {diff['high']:+.3f}]"
