"""The objective frontier in the report (a plot and a table) and in `promptlearn runs show`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from promptlearn.cli.main import app
from promptlearn.report import write_report
from promptlearn.report.data import gather
from promptlearn.store import Store


def test_the_report_plots_the_objective_frontier(stored_run: tuple[Store, str], tmp_path: Path) -> None:
    store, run_id = stored_run
    objectives = gather(store, run_id)["objectives"]
    versions = objectives["versions"]
    assert {"0", "1", "2"} <= set(versions)  # the seed and both validated candidates
    assert versions["2"]["accuracy"] > versions["0"]["accuracy"]
    assert versions["2"]["prompt_tokens"] > versions["0"]["prompt_tokens"]
    # v1 ("Always answer BILLING.") is less accurate than v2 but shorter: each of the three wins on something.
    assert versions["1"]["prompt_tokens"] < versions["2"]["prompt_tokens"]
    assert versions["1"]["accuracy"] < versions["2"]["accuracy"]
    assert objectives["frontier"] == [0, 1, 2]
    html = write_report(store, run_id, tmp_path / "report.html").read_text()
    section = html[html.index('<section id="objectives">'):html.index('<section id="candidates">')]
    assert 'aria-label="objective frontier: val accuracy vs prompt tokens"' in section
    assert section.count("<circle") == 3 and "<polyline" in section  # three versions on the frontier's line
    assert "v2: accuracy" in section


def test_runs_show_prints_the_objectives(stored_run: tuple[Store, str]) -> None:
    store, run_id = stored_run
    shown = CliRunner().invoke(app, ["runs", "show", run_id, "--db", store.url], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "objectives (per val rollout)" in shown.output
    rows = [line for line in shown.output.splitlines() if line.strip().startswith(("│ 0 ", "│ 1 ", "│ 2 "))
            and "$" in line]
    assert len(rows) == 3 and all(r.rstrip(" │").endswith("yes") for r in rows)


def test_a_dominated_version_is_drawn_apart_from_the_frontier() -> None:
    from promptlearn.report.html import objective_chart

    point = {"cost_usd": 0.0, "latency_s": 0.1, "n": 20}
    versions = {"0": {**point, "accuracy": 0.3, "prompt_tokens": 40.0},
                "1": {**point, "accuracy": 0.2, "prompt_tokens": 90.0},  # worse and longer than v0
                "2": {**point, "accuracy": 0.9, "prompt_tokens": 80.0}}
    svg = objective_chart({"versions": versions, "frontier": [0, 2]})
    frontier = svg[svg.index('data-series="objective frontier"'):svg.index('data-series="other versions"')]
    others = svg[svg.index('data-series="other versions"'):]
    assert frontier.count("<title>v") == 2 and "v1:" not in frontier
    assert others.count("<title>v") == 1 and "v1: accuracy 0.200, 90 prompt tokens" in others
    assert objective_chart({}) == ""
