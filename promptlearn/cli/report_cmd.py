"""CLI command `report`: write a run's self-contained HTML report. `register(app)` adds it to the main app."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from promptlearn.cli.common import DbOption, console, friendly, open_store


def report_cmd(
    run_id: str = typer.Argument(..., metavar="RUN", help="a stored run id (a unique prefix works)"),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="the HTML file to write"),
    db: str | None = DbOption,
) -> None:
    """Write one self-contained HTML file: scores, gate decisions, the playbook's evolution and its evidence."""
    from promptlearn.report import write_report

    path = write_report(open_store(db), run_id, out)
    console.print(f"wrote {escape(str(path))}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(friendly(report_cmd))
