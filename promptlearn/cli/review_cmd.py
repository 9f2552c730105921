"""CLI commands `review` (decide on candidates waiting under gate.review) and `serve` (the same in a browser).
`register(app)` adds them to the main app."""

from __future__ import annotations

import secrets

import typer
from rich.markup import escape

from promptlearn.cli.common import DbOption, JsonOption, console, emit_json, err, friendly, open_store
from promptlearn.errors import ConfigError


def review_cmd(
    run_id: str = typer.Argument(..., metavar="RUN", help="a stored run id (a unique prefix works)"),
    accept: int | None = typer.Option(None, "--accept", metavar="VERSION", help="accept a pending version"),
    reject: int | None = typer.Option(None, "--reject", metavar="VERSION", help="reject a pending version"),
    edit: int | None = typer.Option(None, "--edit", metavar="VERSION", help="edit a bullet of a pending version "
                                    "(with --bullet and --text); the edit is validated again on resume"),
    bullet: str | None = typer.Option(None, "--bullet", help="the bullet id to edit"),
    text: str = typer.Option("", "--text", help="the bullet's new text"),
    reviewer: str = typer.Option("", "--reviewer", help="who decided (stored with the decision)"),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """List the candidates of a run that wait for review, or accept / reject / edit one."""
    from promptlearn.optimize.review import decide, pending_reviews

    store = open_store(db)
    chosen = [(name, v) for name, v in (("accept", accept), ("reject", reject), ("edit", edit)) if v is not None]
    if len(chosen) > 1:
        raise ConfigError("give one of --accept, --reject, --edit")
    if chosen:
        decision, version = chosen[0]
        if decision != "edit" and (bullet or text):
            raise ConfigError("--bullet and --text go with --edit")
        say(escape(decide(store, run_id, version, decision, bullet_id=bullet, text=text, reviewer=reviewer)))
        return
    pending = pending_reviews(store, run_id)
    if as_json:
        emit_json(pending)
        return
    if not pending:
        console.print("nothing waits for review in this run")
        return
    for item in pending:
        print_pending(item)


def say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)


def print_pending(item: dict) -> None:  # type: ignore[type-arg]
    gate = item["gate"] or {}
    say(f"[bold]v{item['version']}[/] (against v{item['baseline']}, iteration {item['iteration']}): "
        f"{escape(gate.get('reason', 'no gate decision'))}")
    for delta in item["deltas"]:
        mark = "" if delta["applied"] else " (not applied)"
        target = f" {delta['bullet_id']}" if delta["bullet_id"] else ""
        say(f"  {delta['op']}{target} {escape('[' + delta['section'] + ']')}{mark}: {escape(delta['text'])}")
        for ev in delta["evidence"]:
            if ev["critique"] or ev["output"]:
                say(f"    evidence {ev['ref']} ({ev['example']}): {escape(str(ev['output'])[:120])!r} "
                    f"- {escape(str(ev['critique'] or '')[:160])}")
    say(f"  val: {len(item['wins'])} wins {escape(str(item['wins']))}, {len(item['losses'])} losses "
        f"{escape(str(item['losses']))}")
    say(f"  answers: v{item['baseline']} {escape(str(item['answers']['baseline']))} -> "
        f"v{item['version']} {escape(str(item['answers']['candidate']))}")
    bullets = ", ".join(f"{b['id']}: {b['text']}" for b in item["bullets"])
    say(f"  bullets: {escape(bullets)}")
    say(f"  decide: promptlearn review {item['run_id']} --accept {item['version']} | --reject "
        f"{item['version']} | --edit {item['version']} --bullet ID --text '...'")


def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="the address to bind; anything but loopback needs a token"),
    port: int = typer.Option(8765, "--port"),
    token: str | None = typer.Option(None, "--token", envvar="PROMPTLEARN_SERVE_TOKEN",
                                     help="required for decisions when bound beyond loopback (one is made if not "
                                     "given)"),
    db: str | None = DbOption,
) -> None:
    """A small local web app: runs, versions, diffs and pending candidates, with accept / reject / edit."""
    import uvicorn

    from promptlearn.webapp import create_app, is_loopback

    if not is_loopback(host) and not token:
        token = secrets.token_urlsafe(16)
        err.print(f"bound to {host}: decisions need the token {token} (--token or PROMPTLEARN_SERVE_TOKEN)")
    app = create_app(open_store(db), token=token)
    console.print(f"promptlearn serve: http://{host}:{port}/", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("review")(friendly(review_cmd))
    app.command("serve")(friendly(serve_cmd))
