"""What every CLI command shares: the consoles, `--db`, `--set`, one-line errors and small parsing helpers.

Command modules import from here, never from `cli.main`: main imports the command modules and registers them, so
imports run one way.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import cache, reduce, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from promptlearn.errors import ConfigError, PromptlearnError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from promptlearn.store import Store

console = Console()
err = Console(stderr=True)

DbOption = typer.Option(None, "--db", envvar="PROMPTLEARN_DB", help="database path or SQLAlchemy URL")
JsonOption = typer.Option(False, "--json", help="print the result as JSON")


def set_option(example: str, what: str = "config field") -> Any:
    """`--set a.b=value` (repeatable): a new config field needs no new option."""
    return typer.Option(None, "--set", metavar="FIELD=VALUE", help=f"set any {what} by its dotted name, e.g. "
                        f"{example} (repeatable; applied after the other options; JSON for lists, mappings, null)")


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """User errors print as one line with the fix, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PromptlearnError as exc:  # escaped: "[rl]" in an install hint is not rich markup
            err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]: progress is saved; resume with --resume RUN")
            raise typer.Exit(130) from None

    return wrapper


def open_store(db: str | None) -> Store:
    from promptlearn.store import Store

    return Store(db)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise PromptlearnError(f"cannot write {path}: {exc.strerror or exc}") from None


def size(value: float) -> int | float:
    """Whole numbers are counts (24), values below 1 are fractions (0.4), as in a run file."""
    return int(value) if value >= 1 and float(value).is_integer() else value


@cache
def _defaults(model: type[BaseModel]) -> BaseModel:
    return model()


def default(model: type[BaseModel], field: str) -> Any:
    """The config model's default for `field` (dotted: `dataset.train`): an option's default comes from here."""
    return reduce(getattr, field.split("."), _defaults(model))


def parse_sets(values: list[str] | None) -> dict[str, Any]:
    """`--set a.b=value` flags as dotted overrides. A value stays text for the config to convert ("4" -> 4,
    "true" -> True) unless it is JSON for a list, a mapping or null."""
    sets: dict[str, Any] = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key or "" in key.split("."):
            raise ConfigError(f"--set {item!r}: expected FIELD=VALUE, e.g. --set learn.batch_size=4")
        sets[key] = _value(key, raw)
    return sets


def _value(key: str, raw: str) -> Any:
    if raw != "null" and not raw.startswith(("[", "{")):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--set {key}: not valid JSON ({exc.msg}): {raw}") from None


def config_from(model: type[BaseModel], fields: dict[str, Any], sets: list[str] | None, command: str) -> Any:
    """`model` from a command's options (`fields`, dotted) with its `--set FIELD=VALUE` flags applied over them."""
    from promptlearn.config import set_dotted

    return validate_fields(model, set_dotted(fields, parse_sets(sets)), command)


def validate_fields(model: type[BaseModel], fields: dict[str, Any], command: str) -> Any:
    """`model` from the options' fields; a bad value names the field, as a run file's errors do."""
    from pydantic import ValidationError

    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{command}: field '{where}': {message}" if where else f"{command}: {message}") from None
