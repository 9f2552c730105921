"""`promptlearn serve`: a small local web app over the store. Runs, versions, diffs and the candidates waiting
for review (`gate.review`), with accept / reject / edit written to the store as `promptlearn review` would.

Bound to 127.0.0.1 by default. Bound anywhere else, a decision needs the token (a form field or the
`X-Promptlearn-Token` header); reading needs none. The pages are plain HTML forms: no script, nothing fetched
from elsewhere.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from html import escape
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from promptlearn.errors import PromptlearnError
from promptlearn.export.diffing import diff_versions
from promptlearn.history import run_list
from promptlearn.optimize.objectives import objective_front
from promptlearn.optimize.review import decide, pending_reviews
from promptlearn.store import Store

STYLE = ("body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}"
         "td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left}.pending{background:#fff7e0;"
         "padding:1em;margin:1em 0;border:1px solid #e0c080}.status-accepted{color:#060}.status-rejected{color:#900}"
         "form{display:inline-block;margin:.2em}input[type=text]{width:40em}")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
                        f"<style>{STYLE}</style></head><body><p><a href='/'>runs</a></p><h1>{escape(title)}</h1>"
                        f"{body}</body></html>")


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def create_app(store: Store, token: str | None = None) -> FastAPI:
    """The app over `store`; with `token`, every decision must carry it."""
    app = FastAPI(title="promptlearn", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(PromptlearnError)
    async def _friendly(_request: Request, exc: PromptlearnError) -> HTMLResponse:
        page = _page("error", f"<p class='error'>{escape(str(exc))}</p>")
        page.status_code = 400
        return page

    @app.get("/", response_class=HTMLResponse)
    def runs() -> HTMLResponse:
        rows = [[f"<a href='/runs/{escape(r['id'])}'>{escape(r['id'])}</a>", escape(r["kind"]), escape(r["name"]),
                 escape(r["status"]), escape(r["created"])] for r in run_list(store, 200)]
        return _page("promptlearn runs", _table(["run", "kind", "name", "status", "created"], rows))

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run(run_id: str) -> HTMLResponse:
        row = store.get_run(run_id)
        parts = [f"<p>status: <b id='run-status'>{escape(row.status)}</b></p>"]
        parts += [_pending_html(item, token is not None) for item in pending_reviews(store, row.id)]
        parts.append("<h2>Versions</h2>" + _versions_html(store, row.id))
        return _page(f"run {row.id} ({row.name})", "".join(parts))

    @app.get("/runs/{run_id}/diff/{number}", response_class=HTMLResponse)
    def diff(run_id: str, number: int) -> HTMLResponse:
        row = store.get_run(run_id)
        version = store.get_version(row.id, number)
        parent = version.parent_number if version and version.parent_number is not None else 0
        d = diff_versions(store, f"{row.id}@{parent}", f"{row.id}@{number}")
        items = [f"<li class='added'>+ {escape(b['id'])}: {escape(b['text'])}</li>" for b in d["added"]]
        items += [f"<li class='removed'>- {escape(b['id'])}: {escape(b['text'])}</li>" for b in d["removed"]]
        items += [f"<li class='changed'>~ {escape(c['id'])}: {escape(c['before']['text'])} &rarr; "
                  f"{escape(c['after']['text'])}</li>" for c in d["changed"]]
        return _page(f"run {row.id}: v{parent} to v{number}", f"<ul>{''.join(items) or '<li>no change</li>'}</ul>"
                     f"<p><a href='/runs/{escape(row.id)}'>back</a></p>")

    @app.get("/api/runs/{run_id}/pending")
    def pending(run_id: str) -> JSONResponse:
        return JSONResponse(pending_reviews(store, run_id))

    @app.post("/runs/{run_id}/versions/{number}/decision")
    async def decision(run_id: str, number: int, request: Request) -> RedirectResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        given = form.get("token") or request.headers.get("x-promptlearn-token") or ""
        if token is not None and not secrets.compare_digest(given, token):
            raise HTTPException(status_code=403, detail="a decision needs the server's token")
        choice = form.get("decision", "")
        if choice not in ("accept", "reject", "edit"):
            raise HTTPException(status_code=400, detail="decision must be accept, reject or edit")
        decide(store, run_id, number, choice, bullet_id=form.get("bullet_id") or None, text=form.get("text", ""),
               reviewer=form.get("reviewer", "web"))
        return RedirectResponse(f"/runs/{store.get_run(run_id).id}", status_code=303)

    return app


def _versions_html(store: Store, run_id: str) -> str:
    versions = store.versions(run_id)
    points = {v.number: json.loads(v.scores_json).get("objectives") for v in versions}
    front = set(objective_front({n: p for n, p in points.items() if p}))
    rows = []
    for v in versions:
        p: dict[str, Any] = points.get(v.number) or {}
        cells = [f"v{v.number}", f"<span class='status-{escape(v.status)}' id='status-v{v.number}'>"
                 f"{escape(v.status)}</span>", "" if v.parent_number is None else f"v{v.parent_number}"]
        cells += [f"{p['accuracy']:.3f}" if p else "", f"{p['prompt_tokens']:.0f}" if p else "",
                  f"{p['cost_usd']:.6f}" if p else "", "yes" if v.number in front else "", escape(v.note)]
        cells.append(f"<a href='/runs/{escape(run_id)}/diff/{v.number}'>diff</a>" if v.number else "")
        rows.append(cells)
    return _table(["version", "status", "parent", "val accuracy", "prompt tokens", "cost / rollout",
                   "on the objective frontier", "note", ""], rows)


def _pending_html(item: dict[str, Any], needs_token: bool) -> str:
    run_id, number = escape(item["run_id"]), item["version"]
    gate = item["gate"] or {}
    deltas = "".join(f"<li>{escape(d['op'])} {escape(d['bullet_id'] or '')} [{escape(d['section'])}]: "
                     f"{escape(d['text'])}" + "".join(f"<br><small>evidence {escape(e['ref'])}: "
                                                      f"{escape(str(e['output'] or ''))} - "
                                                      f"{escape(str(e['critique'] or ''))}</small>"
                                                      for e in d["evidence"]) + "</li>" for d in item["deltas"])
    token = "<input type='password' name='token' placeholder='token'>" if needs_token else ""
    action = f"/runs/{run_id}/versions/{number}/decision"

    def button(choice: str) -> str:
        return (f"<form method='post' action='{action}'>{token}<input type='hidden' name='decision' "
                f"value='{choice}'><button type='submit' id='{choice}-v{number}'>{choice}</button></form>")

    edits = "".join(f"<form method='post' action='{action}'>{token}<input type='hidden' name='decision' "
                    f"value='edit'><input type='hidden' name='bullet_id' value='{escape(b['id'])}'>"
                    f"{escape(b['id'])} <input type='text' name='text' value='{escape(b['text'])}'>"
                    f"<button type='submit'>edit</button></form><br>" for b in item["bullets"])
    return (f"<div class='pending' id='pending-v{number}'><h2>v{number} waits for review</h2>"
            f"<p>against v{item['baseline']}: {escape(gate.get('reason', ''))}</p><ul>{deltas}</ul>"
            f"<p>val: {len(item['wins'])} wins {escape(str(item['wins']))}, {len(item['losses'])} losses "
            f"{escape(str(item['losses']))}</p><p>answers: {escape(str(item['answers']['baseline']))} &rarr; "
            f"{escape(str(item['answers']['candidate']))}</p>{button('accept')}{button('reject')}"
            f"<h3>Edit a bullet (validated again when the run resumes)</h3>{edits}</div>")
