"""The Phoenix round trip against a real local server: a small app instrumented with
`openinference-instrumentation-openai` answers support tickets through llama.cpp's OpenAI-compatible server (the
embedded Qwen2.5 0.5B) and its spans go to a local Phoenix (arize-phoenix, run from its own virtualenv:
phoenix_venv.py); some spans are annotated through the Phoenix client; `traces pull` imports them with their
feedback (again: nothing new; after more traffic: only the new span), `learn --online --once` learns from them
through the same server, and `traces push` writes a playbook back as a prompt version, read back through the
client."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from promptlearn.cli.main import app
from promptlearn.localhost import free_port, stop
from promptlearn.store import Store
from tests.conftest import REAL_MODELS, have_model
from tests.integration import phoenix_venv

for _module in ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings"):
    pytest.importorskip(_module, reason="the llama.cpp server needs the `server` extra: pip install '.[server]'")
pytest.importorskip("phoenix.client", reason="needs the phoenix extra: pip install 'promptlearn[phoenix]'")

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not have_model("qwen2.5-0.5b"), reason="run: promptlearn models pull qwen2.5-0.5b")]
APP = Path(__file__).with_name("phoenix_app.py")
PROJECT = "support-app"
SYSTEM = "Label the support ticket: BILLING, BUG, ACCOUNT or SHIPPING. Answer with the label only."
TICKETS = ["The app crashes every time I open the settings page", "I was charged twice for my subscription",
           "My parcel has not arrived after two weeks", "I cannot log in to my account since yesterday"]


@pytest.fixture(scope="module")
def phoenix_url() -> Iterator[str]:
    try:
        python = phoenix_venv.ensure()
    except phoenix_venv.BuildFailed as exc:
        pytest.skip(f"the Phoenix virtualenv cannot be built ({exc}); build it with `make phoenix-venv`")
    port = free_port()
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryFile() as log:
        env = {**os.environ, "PHOENIX_WORKING_DIR": work, "PHOENIX_HOST": "127.0.0.1", "PHOENIX_PORT": str(port),
               "PHOENIX_GRPC_PORT": str(free_port())}
        server = subprocess.Popen(["nice", "-n", "19", str(python), "-m", "phoenix.server.main", "serve"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 300
            while True:
                if server.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"phoenix serve exited with {server.returncode}: {log.read()[-2000:]!r}")
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                assert time.monotonic() < deadline, "Phoenix not ready after 300 s"
                time.sleep(0.5)  # polling a child process's readiness; no result depends on it
            yield url
        finally:
            stop(server, grace_s=30)


@pytest.fixture(scope="module")
def model_url() -> Iterator[str]:
    from promptlearn.lm.llama_server import llama_server

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROMPTLEARN_MODELS_DIR", str(REAL_MODELS))
        with llama_server("qwen2.5-0.5b", alias="qwen", n_ctx=4096, threads=1) as url:
            yield url


def run_app(phoenix_url: str, model_url: str, tickets: list[str]) -> list[dict[str, str]]:
    """The instrumented app, in Phoenix's virtualenv: one JSON line per ticket it answered."""
    done = subprocess.run([str(phoenix_venv.venv_python()), str(APP), phoenix_url, PROJECT, model_url, "qwen",
                           SYSTEM], input="\n".join(tickets), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def llm_spans(client: Any, n: int) -> dict[str, dict[str, Any]]:
    """The project's LLM spans by their user message, once Phoenix has ingested `n` of them."""
    deadline = time.monotonic() + 120
    while True:
        spans = client.spans.get_spans(project_identifier=PROJECT, span_kind="LLM", limit=1000)
        if len(spans) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # Phoenix ingests spans asynchronously
    assert len(spans) == n, [s["attributes"] for s in spans]
    return {s["attributes"]["llm.input_messages.1.message.content"]: s for s in spans}


def cli(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_spans_annotated_in_phoenix_are_pulled_with_feedback_and_a_playbook_pushed_back(
        phoenix_url: str, model_url: str, tmp_path: Path) -> None:
    from phoenix.client import Client

    from promptlearn.export import export_playbook
    from promptlearn.traces.phoenix import prompt_text

    answered = run_app(phoenix_url, model_url, TICKETS[:3])
    assert [a["input"] for a in answered] == TICKETS[:3] and all(a["output"].strip() for a in answered)
    client = Client(base_url=phoenix_url)
    spans = llm_spans(client, 3)
    ids = {ticket: spans[ticket]["context"]["span_id"] for ticket in TICKETS[:3]}

    def annotate(ticket: str, name: str, kind: str = "HUMAN", **result: Any) -> None:
        client.spans.add_span_annotation(span_id=ids[ticket], annotation_name=name, annotator_kind=kind, sync=True,
                                         **result)

    annotate(TICKETS[0], "user_feedback", label="thumbs_down", explanation="an app that crashes is a bug")
    annotate(TICKETS[0], "correction", label="BUG", explanation="BUG")
    annotate(TICKETS[1], "user_feedback", label="thumbs_up", score=1.0)
    annotate(TICKETS[2], "helpfulness", kind="LLM", label="bad", explanation="an LLM eval, not a user")

    db = str(tmp_path / "prod.db")
    pull = ["traces", "pull", "--phoenix", phoenix_url, "--project", PROJECT, "--db", db]
    first = cli(*pull)
    assert (first["added"], first["duplicates"], first["skipped"], first["malformed"]) == (3, 0, {"CHAIN": 3}, [])
    assert (first["with_feedback"], first["corrections"]) == (2, 1)
    store = Store(db)
    rows = {row.input: row for row in store.traces("default")}
    assert set(rows) == set(TICKETS[:3])
    for a in answered:  # the recorded output is what the app got from the model, read from the real span
        row = rows[a["input"]]
        assert (row.key, row.output) == (f"span:{ids[a['input']]}", a["output"])
        assert json.loads(row.metadata_json) == {"model": "qwen", "span_kind": "LLM", "system_prompt": SYSTEM}
    crash, charge, parcel = (rows[t] for t in TICKETS[:3])
    assert (crash.label, crash.comment, crash.correction) == ("thumbs_down", "an app that crashes is a bug", "BUG")
    assert (charge.label, charge.score, charge.correction) == ("thumbs_up", 1.0, None)
    assert (parcel.label, parcel.score, parcel.comment) == (None, None, None)  # the LLM eval is not feedback

    again = cli(*pull)
    assert (again["added"], again["duplicates"]) == (0, 3)
    run_app(phoenix_url, model_url, TICKETS[3:])
    llm_spans(client, 4)
    later = cli(*pull)
    assert (later["added"], later["duplicates"], later["with_feedback"]) == (1, 3, 2)

    # Learning from the pulled spans, with the model the app used (the same llama.cpp server, as `openai/qwen`):
    # the feedback becomes critiques, a candidate goes through the gate, the judge's agreement with the users is
    # measured on the spans that carry both.
    model = "openai/qwen"
    sets = [f"system_prompt={SYSTEM}", f"models.task={model}", f"models.judge={model}", f"models.rewriter={model}",
            f"models.api_base={model_url}", "batch=4", "replay=0"]
    learned = cli("learn", "--online", "--once", "--db", db, *(arg for s in sets for arg in ("--set", s)))
    [batch] = learned["batches"]
    assert (batch["traces"], batch["last_trace"]) == (4, 4) and batch["note"].startswith("v1")
    assert learned["judge_trust"]["n"] == 2  # the two spans with a user's thumbs
    assert store.calls_of_run(learned["run_id"]), "no model call recorded for the online run"

    # A playbook (imported as a run) written back to Phoenix as a prompt version, and read back.
    playbook = tmp_path / "support.md"
    playbook.write_text(SYSTEM + "\n\n- An app that crashes or freezes is a BUG, never SHIPPING.\n")
    run = cli("import", str(playbook), "--name", "support", "--db", db)["run_id"]
    pushed = cli("traces", "push", run, "--prompt", "support-triage", "--phoenix", phoenix_url, "--model-name",
                 "openai/qwen", "--db", db)
    assert pushed["created"] and pushed["model"] == "openai/qwen" and pushed["ref"] == f"{run}@0"
    text = export_playbook(store, run, "prompt")
    assert SYSTEM in text and "never SHIPPING" in text
    assert prompt_text(phoenix_url, "support-triage") == text  # read back through the client
    version = client.prompts.get(prompt_identifier="support-triage")
    assert version.id == pushed["version_id"]
    assert dict(version.format(sdk="openai"))["model"] == "openai/qwen"
    unchanged = cli("traces", "push", run, "--prompt", "support-triage", "--phoenix", phoenix_url, "--model-name",
                    "openai/qwen", "--db", db)
    assert (unchanged["created"], unchanged["version_id"]) == (False, pushed["version_id"])
