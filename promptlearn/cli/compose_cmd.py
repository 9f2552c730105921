"""CLI command `export-composed`: several stored playbooks, one per domain, as a router file or one merged prompt.

`register(app)` adds it to the main app.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from promptlearn.cli.common import DbOption, err, friendly, open_store, write_text
from promptlearn.errors import ConfigError


def parse_domain_refs(items: list[str]) -> dict[str, str]:
    """`["billing=abc@2", "shipping=def"]` -> {"billing": "abc@2", "shipping": "def"}."""
    out: dict[str, str] = {}
    for item in items:
        domain, sep, ref = item.partition("=")
        domain, ref = domain.strip(), ref.strip()
        if not sep or not domain or not ref:
            raise ConfigError(f"bad domain '{item}': use DOMAIN=RUN or DOMAIN=RUN@VERSION (e.g. billing=3f2a9c1b0d@2)")
        if domain in out:
            raise ConfigError(f"domain '{domain}' is given twice")
        out[domain] = ref
    return out


def export_composed_cmd(
    domains: list[str] = typer.Argument(..., metavar="DOMAIN=RUN[@VERSION]...", help="one playbook per domain"),
    router: str = typer.Option("keyword", "--router", help="keyword or llm"),
    keywords: str = typer.Option("", "--keywords", help='keyword router: "billing:refund,charge;shipping:parcel"'),
    model: str | None = typer.Option(None, "--model", help="llm router: the model that names the domain"),
    default: str | None = typer.Option(None, "--default", help="domain for ties/no match (default: the first)"),
    fmt: str = typer.Option("router", "--format", "-f", help="router (JSON for load_composed) or single (one prompt)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="write to this file instead of stdout"),
    db: str | None = DbOption,
) -> None:
    """Compose stored playbooks into one routed playbook (JSON) or a single prompt with a section per domain."""
    from promptlearn.compose import ComposedPlaybook, RouterConfig, parse_keywords
    from promptlearn.export.refs import resolve

    if fmt not in ("router", "single"):
        raise ConfigError(f"unknown --format '{fmt}': use router or single")
    if router not in ("keyword", "llm"):
        raise ConfigError(f"unknown --router '{router}': use keyword or llm")
    refs = parse_domain_refs(domains)
    store = open_store(db)
    playbooks = {name: resolve(store, ref).playbook for name, ref in refs.items()}
    try:
        config = RouterConfig(kind=router, keywords=parse_keywords(keywords), model=model,  # type: ignore[arg-type]
                              default=default or next(iter(refs)))
        composed = ComposedPlaybook(domains=playbooks, router=config)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"cannot compose: {_first_error(exc)}") from None
    text = composed.to_json() if fmt == "router" else composed.as_single_prompt()
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    write_text(out, text)
    err.print(f"wrote {escape(str(out))} ({fmt} export of {len(refs)} domains)", highlight=False)


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return str(first["msg"]).removeprefix("Value error, ")
    return str(exc)


def register(app: typer.Typer) -> None:
    app.command("export-composed")(friendly(export_composed_cmd))
