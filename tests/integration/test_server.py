"""The task model behind an OpenAI-compatible server: llama.cpp's server with SmolLM2 on loopback, reached through
litellm as `openai/smollm2` with `api_base`, exactly as a vLLM or hosted endpoint would be."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from promptlearn import evaluate
from promptlearn.store import Store
from tests.conftest import REAL_MODELS, needs_smollm
from tests.fakes_task import write_dataset

for _module in ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings"):
    pytest.importorskip(_module, reason="the llama.cpp server needs the `server` extra: pip install '.[server]'")

pytestmark = [pytest.mark.integration, needs_smollm]
MODEL = "openai/smollm2"
KEY = "sk-local-dummy-key-7f3a9c"  # the server checks no key; litellm's OpenAI client needs one set


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    from promptlearn.lm.llama_server import llama_server

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROMPTLEARN_MODELS_DIR", str(REAL_MODELS))
        with llama_server("smollm2-135m", alias="smollm2", n_ctx=2048, threads=2) as url:
            yield url


def run(data: Path, store: Store, url: str, concurrency: int):  # type: ignore[no-untyped-def]
    return evaluate(str(data), "Reply with one word: the topic of the ticket.", MODEL, "exact", store=store,
                    limit=8, max_tokens=12, concurrency=concurrency, api_base=url)


def test_eval_through_the_server_at_concurrency_4_matches_concurrency_1(
        server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    data = write_dataset(tmp_path / "tickets.jsonl", n=8)
    parallel_store, serial_store = Store(str(tmp_path / "a.sqlite")), Store(str(tmp_path / "b.sqlite"))
    parallel = run(data, parallel_store, server_url, concurrency=4)
    assert len(parallel.results) == 8
    assert all(r.error is None and r.output.strip() for r in parallel.results), [r.error for r in parallel.results]
    assert parallel_store.call_stats()["calls"] == 8  # real calls, each recorded once
    serial = run(data, serial_store, server_url, concurrency=1)  # a fresh store: no cache, real calls again
    assert [r.output for r in parallel.results] == [r.output for r in serial.results]  # temperature 0
    assert [r.score for r in parallel.results] == [r.score for r in serial.results]
    for db in tmp_path.glob("*.sqlite*"):
        assert KEY.encode() not in db.read_bytes(), f"the API key reached {db.name}"


def test_a_server_that_checks_no_key_needs_no_api_key(server_url: str, tmp_path: Path) -> None:
    # conftest removed OPENAI_API_KEY: the OpenAI client gets a placeholder for a self-hosted api_base.
    data = write_dataset(tmp_path / "tickets.jsonl", n=1)
    result = evaluate(str(data), "Reply with one word.", MODEL, "exact", store=Store(str(tmp_path / "c.sqlite")),
                      max_tokens=4, api_base=server_url)
    assert result.results[0].error is None and result.results[0].output.strip()


def test_a_judge_asks_the_server_for_json_and_gets_it(server_url: str) -> None:
    # llama-cpp-python's server answers 500 to OpenAI's `json_schema` response format (it takes `json_object`
    # with a schema): the judge and rewriter, which ask for a schema, fall back instead of failing the run.
    from promptlearn.lm import LMRequest
    from promptlearn.lm.litellm_lm import LiteLLMLM

    schema = {"type": "object", "properties": {"verdict": {"type": "string", "enum": ["pass", "fail"]}},
              "required": ["verdict"]}
    lm = LiteLLMLM(api_base=server_url)
    request = LMRequest.chat(MODEL, [{"role": "user", "content": "Is 2 + 2 = 4? Give your verdict."}],
                             max_tokens=24, json_schema=schema)
    reply = lm.complete(request)
    assert reply.error is None and lm.schema_format == "json_object"
    assert json.loads(reply.text)["verdict"] in ("pass", "fail")
    assert lm.complete(request).text == reply.text  # asked the way that works from then on
