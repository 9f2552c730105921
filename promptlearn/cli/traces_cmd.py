"""CLI commands for learning from production: `traces import FILE`, `traces pull` / `traces push` (a running Phoenix
server), `traces list`, and `learn --online`.

`register(app)` adds them to the main app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from promptlearn.cli.common import (
    DbOption,
    JsonOption,
    console,
    emit_json,
    err,
    friendly,
    open_store,
    parse_sets,
    set_option,
)
from promptlearn.errors import ConfigError

traces_app = typer.Typer(help="Recorded production calls and their user feedback.", no_args_is_help=True)
StreamOption = typer.Option(None, "--stream", help="the stream to import into (traces.stream)")
ConfigOption = typer.Option(None, "--config", help="an online run file (YAML: system_prompt, traces, models, ...); "
                            "default: the built-in defaults")


def _config(config_file: Path | None, sets: list[str] | None, stream: str | None) -> Any:
    from promptlearn.config import load_online_config

    overrides = parse_sets(sets)
    if stream is not None:
        overrides["traces.stream"] = stream
    return load_online_config(config_file, **overrides)


@traces_app.command("import")
@friendly
def traces_import(
    files: list[Path] = typer.Argument(..., help="trace files: a JSONL log, OpenInference spans or OTLP/JSON"),
    fmt: str = typer.Option("auto", "--format", "-f", help="auto, jsonl, openinference or otlp"),
    annotations: Path | None = typer.Option(None, "--annotations", help="span annotations (user feedback) in a "
                                            "separate file, as Phoenix exports them: JSONL with span_id"),
    stream: str | None = StreamOption,
    config_file: Path | None = ConfigOption,
    sets: list[str] | None = set_option("traces.privacy.scrub=false"),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Import recorded calls with their feedback; secrets and personal data are scrubbed first. Importing the same
    file again adds nothing, but feedback given since updates the traces not yet learned from; a malformed span or
    line is reported with its file and line, the rest imported."""
    from promptlearn.traces import import_traces
    from promptlearn.traces.formats import FORMATS

    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt}: choose from {', '.join(FORMATS)}")
    cfg = _config(config_file, sets, stream)
    store = open_store(db)
    reports = [import_traces(store, path, cfg.traces, fmt, annotations) for path in files]
    if as_json:
        emit_json([r.as_dict() for r in reports])
        return
    for r in reports:
        _print_report(r)


PhoenixOption = typer.Option("http://127.0.0.1:6006", "--phoenix", envvar="PHOENIX_ENDPOINT",
                             help="the Phoenix server's URL (PHOENIX_API_KEY is sent when set)")


def _print_report(r: Any) -> None:
    skipped = f", skipped {sum(r.skipped.values())} spans ({', '.join(sorted(r.skipped))})" if r.skipped else ""
    console.print(f"{escape(r.file)}: added {r.added} to stream '{escape(r.stream)}', updated {r.updated}, "
                  f"{r.duplicates} already there{skipped}; {r.with_feedback} with feedback, {r.corrections} "
                  "corrections", highlight=False, soft_wrap=True)
    if r.kept:
        console.print(f"  {r.kept} already learned from, feedback kept as it was", highlight=False)
    if r.scrubbed:
        console.print("  scrubbed: " + ", ".join(f"{k} {v}" for k, v in sorted(r.scrubbed.items())))
    if r.malformed:
        err.print(f"[yellow]{len(r.malformed)} malformed[/] (not imported):", highlight=False)
        for bad in r.malformed[:20]:
            err.print(f"  {escape(str(bad))}", highlight=False, soft_wrap=True)
        if len(r.malformed) > 20:
            err.print(f"  ... and {len(r.malformed) - 20} more (--json lists all)")


@traces_app.command("pull")
@friendly
def traces_pull(
    url: str = PhoenixOption,
    project: str = typer.Option("default", "--project", help="the Phoenix project whose spans are read"),
    limit: int = typer.Option(10_000, "--limit", min=1, help="read at most this many spans (the newest)"),
    stream: str | None = StreamOption,
    config_file: Path | None = ConfigOption,
    sets: list[str] | None = set_option("traces.privacy.scrub=false"),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Import the spans of a running Phoenix server's project with their annotations (user feedback), as `traces
    import` imports a span file: scrubbed first, each span once (pulling again adds only new spans, and annotations
    added since update the spans not yet learned from). Needs the
    phoenix extra: pip install 'promptlearn[phoenix]'."""
    from promptlearn.traces.phoenix import pull_traces

    cfg = _config(config_file, sets, stream)
    report = pull_traces(open_store(db), url, project, cfg.traces, limit=limit)
    if as_json:
        emit_json(report.as_dict())
    else:
        _print_report(report)


@traces_app.command("push")
@friendly
def traces_push(
    ref: str = typer.Argument(..., metavar="RUN[@VERSION]", help="a run (its final playbook) or RUN@VERSION"),
    prompt: str = typer.Option(..., "--prompt", help="the Phoenix prompt to add a version to (created if new)"),
    url: str = PhoenixOption,
    model_name: str | None = typer.Option(None, "--model-name", help="the model the version is for (default: the "
                                          "run's task model)"),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Write a tuned playbook back to Phoenix as a new version of a prompt (one system message, the `prompt`
    export); nothing is written when the prompt's newest version already says the same."""
    import json

    from promptlearn.export import export_playbook
    from promptlearn.export.refs import resolve
    from promptlearn.traces.phoenix import push_prompt

    store = open_store(db)
    resolved = resolve(store, ref)
    text = export_playbook(store, ref, "prompt")
    config = json.loads(resolved.run.config_json)
    models = config.get("models") if isinstance(config.get("models"), dict) else {}
    model = model_name or str(models.get("task") or config.get("model") or "unknown")
    pushed = push_prompt(url, prompt, text, model, description=f"promptlearn {resolved.label}",
                         metadata={"promptlearn_run": resolved.run.id})
    if as_json:
        emit_json({"prompt": pushed.prompt, "version_id": pushed.version_id, "created": pushed.created,
                   "ref": resolved.label, "model": model})
        return
    what = "added version" if pushed.created else "unchanged: its newest version already is"
    console.print(f"Phoenix prompt '{escape(prompt)}' {what} {pushed.version_id} ({escape(resolved.label)}, "
                  f"model {escape(model)})", highlight=False, soft_wrap=True)


@traces_app.command("list")
@friendly
def traces_list(db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """The trace streams and how many traces each holds."""
    streams = open_store(db).trace_streams()
    if as_json:
        emit_json(streams)
        return
    table = Table("stream", "traces")
    for name, count in sorted(streams.items()):
        table.add_row(name, str(count))
    console.print(table)


def learn_cmd(
    online: bool = typer.Option(False, "--online", help="learn from the imported traces of a stream, batch by batch"),
    once: bool = typer.Option(False, "--once", help="process the traces there are now, then exit (for cron); "
                              "without it, watch for new traces until interrupted"),
    stream: str | None = typer.Option(None, "--stream", help="the trace stream (traces.stream)"),
    max_batches: int | None = typer.Option(None, "--max-batches", min=1, help="with --once: stop after this many"),
    config_file: Path | None = ConfigOption,
    sets: list[str] | None = set_option("batch=32"),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Update a playbook from production traces and their feedback, without gold labels. Each batch of new traces
    goes through the gate with a fixed set of earlier traces replayed; running it again continues (after a crash
    too), so `--once` from cron learns as traces arrive."""
    from promptlearn.traces.online import OnlineLearner

    if not online:
        raise ConfigError("learn needs --online (learning from imported traces); for a labelled dataset use "
                          "promptlearn optimize RUN_FILE")
    cfg = _config(config_file, sets, stream)
    store = open_store(db)
    if store.count_traces(cfg.traces.stream) == 0:
        raise ConfigError(f"stream '{cfg.traces.stream}' holds no traces; import some first: promptlearn traces "
                          "import FILE")
    learner = OnlineLearner(cfg, store, on_note=None if quiet or as_json else
                            (lambda text: err.print(escape(text), highlight=False, soft_wrap=True)))
    if once:
        result = learner.run_once(max_batches)
    else:
        try:
            result = learner.watch(lambda: False)
        except KeyboardInterrupt:
            result = learner.result([])
    if as_json:
        emit_json(result.as_dict())
        return
    console.print(f"online run [bold]{result.run_id}[/]: {len(result.batches)} batches now, current version "
                  f"v{result.version}, {result.waiting} traces waiting for a full batch")
    if result.trust:
        console.print(f"judge trust: the rubric judge agrees with users on {result.trust['agreement']:.0%} of "
                      f"{int(result.trust['n'])} rated outputs")
    console.print(escape(result.playbook.render()), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(traces_app, name="traces")
    app.command("learn")(friendly(learn_cmd))
