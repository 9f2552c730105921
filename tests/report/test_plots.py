"""The accuracy-curve files the benchmark and the comparison write: PNG with matplotlib, a standalone SVG without."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptlearn.report import plots

CURVES = {"rl": [{"x": 48, "y": 0.6, "low": 0.4, "high": 0.8}, {"x": 0, "y": 0.3, "low": 0.1, "high": 0.5}],
          "seed": [{"x": 0, "y": 0.3, "low": 0.1, "high": 0.5}]}


def test_png_when_matplotlib_is_there(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = plots.write_accuracy_plot(CURVES, {"rl": "#d62728"}, title="t", x_label="x", y_label="y",
                                     stem=tmp_path / "curve")
    assert path == tmp_path / "curve.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_standalone_svg_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plots, "_pyplot", lambda: None)
    path = plots.write_accuracy_plot(CURVES, {}, title="acc vs rollouts", x_label="rollouts", y_label="accuracy",
                                     stem=tmp_path / "curve")
    text = path.read_text()
    assert path.suffix == ".svg" and text.startswith('<svg xmlns="http://www.w3.org/2000/svg" ')
    assert plots.SVG_STYLE in text and "acc vs rollouts" in text


def test_a_results_name_with_a_dot_keeps_its_whole_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `--out learn-1.5b` once wrote learn-1.png (with_suffix took ".5b-..." for a suffix), so two tasks collided.
    monkeypatch.setattr(plots, "_pyplot", lambda: None)
    path = plots.write_accuracy_plot(CURVES, {}, title="t", x_label="x", y_label="y",
                                     stem=tmp_path / "learn-1.5b-clinc-banking")
    assert path == tmp_path / "learn-1.5b-clinc-banking.svg" and path.is_file()
