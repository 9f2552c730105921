"""CLI commands `export`, `import`, `diff` and `rollback`: parse, call `promptlearn.export`, print.

`register(app)` adds them to the main app.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from promptlearn.cli.common import DbOption, JsonOption, console, emit_json, err, friendly, open_store, write_text

FORMAT_HELP = "prompt, json, markdown, agents-md, claude-md, cursorrules or dspy"


def export_cmd(
    ref: str = typer.Argument(..., metavar="RUN[@VERSION]", help="a run (its final playbook) or RUN@VERSION"),
    fmt: str = typer.Option("prompt", "--format", "-f", help=FORMAT_HELP),
    out: Path | None = typer.Option(None, "--out", "-o", help="write to this file instead of stdout"),
    verify: bool = typer.Option(False, "--verify", help="re-evaluate the export on the run's validation examples"),
    db: str | None = DbOption,
) -> None:
    """Export a playbook version; template variables of the seed prompt must survive or it is refused."""
    from promptlearn.export import export_playbook, verify_export

    store = open_store(db)
    text = export_playbook(store, ref, fmt)
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        write_text(out, text)
        err.print(f"wrote {escape(str(out))} ({fmt} export of {escape(ref)})", highlight=False)
    if verify:
        report = verify_export(store, ref, fmt)
        same = "same within the 95% interval" if report["same_within_interval"] else "[red]DIFFERENT[/]"
        err.print(f"verify {report['ref']}: stored val {report['stored']:.3f}, exported {report['exported']:.3f} "
                  f"[{report['low']:.3f}, {report['high']:.3f}] (n={report['n']}): {same}", highlight=False)
        if not report["same_within_interval"]:
            raise typer.Exit(1)


def import_cmd(
    file: Path = typer.Argument(..., help="a prompt (.txt/.md), an AGENTS.md or JSON we exported, a DSPy program"),
    name: str | None = typer.Option(None, "--name", help="the run's name (default: the file name)"),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Import a prompt or playbook as a new run (kind `import`) whose version 0 is that playbook."""
    from promptlearn.export import import_prompt, start_run_from_import

    playbook = import_prompt(file)
    run_id = start_run_from_import(open_store(db), playbook, name or file.stem, str(file))
    if as_json:
        emit_json({"run_id": run_id, "bullets": len(playbook.bullets)})
        return
    console.print(f"imported {escape(str(file))} as run [bold]{run_id}[/] ({len(playbook.bullets)} bullets); "
                  f"export it with: promptlearn export {run_id} --format json", highlight=False)


def diff_cmd(
    a: str = typer.Argument(..., metavar="A", help="RUN or RUN@VERSION"),
    b: str = typer.Argument(..., metavar="B", help="RUN, RUN@VERSION, or @VERSION (A's run)"),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Bullets added, removed and changed from A to B, with the reasons stored for each, and the val change."""
    from promptlearn.export import diff_versions

    diff = diff_versions(open_store(db), a, b)
    if as_json:
        emit_json(diff)
        return
    for line in diff_lines(diff):
        console.print(line, highlight=False)


def diff_lines(diff: dict[str, Any]) -> list[str]:
    change = diff["score_change"]
    score = "n/a" if change is None else f"{change:+.3f}"
    lines = [f"{diff['a']['ref']} -> {diff['b']['ref']}: val accuracy change {score}"]
    if diff["seed_prompt_changed"]:
        lines.append("[yellow]~ the seed prompt changed[/]")
    for sign, key, color in (("+", "added", "green"), ("-", "removed", "red")):
        for item in diff[key]:
            lines.append(f"[{color}]{sign} \\[{item['id']}] {escape(item['text'])}[/]")
            lines.append(f"    why: {escape(item['reason'] or '(no stored reason)')} {_evidence(item)}")
    for item in diff["changed"]:
        lines.append(f"[yellow]~ \\[{item['id']}] {escape(item['before']['text'])}[/]")
        lines.append(f"[yellow]  -> {escape(item['after']['text'])}[/]")
        lines.append(f"    why: {escape(item['reason'] or '(no stored reason)')} {_evidence(item)}")
    if len(lines) == 1:
        lines.append("no bullet changed")
    return lines


def _evidence(item: dict[str, Any]) -> str:
    return f"(evidence: {', '.join(item['evidence'])})" if item["evidence"] else ""


def rollback_cmd(
    run: str = typer.Argument(..., help="the run"),
    version: int = typer.Argument(..., help="the version to make current again"),
    db: str | None = DbOption,
) -> None:
    """Make an old version current by adding a new version with its content; history is kept."""
    from promptlearn.export import rollback

    number = rollback(open_store(db), run, version)
    console.print(f"run {run}: version {number} (a copy of v{version}) is now current", highlight=False)


def register(app: typer.Typer) -> None:

    for name, command in (("export", export_cmd), ("import", import_cmd), ("diff", diff_cmd),
                          ("rollback", rollback_cmd)):
        app.command(name)(friendly(command))
