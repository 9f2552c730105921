"""`promptlearn serve`'s app, through FastAPI's test client: pages, decisions, and the token off loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="pip install promptlearn[server]")

from fastapi.testclient import TestClient  # noqa: E402

from promptlearn.webapp import create_app, is_loopback  # noqa: E402
from tests.unit.test_review_cli import paused_run  # noqa: E402


def test_the_run_page_shows_the_pending_candidate_and_a_decision_is_stored(tmp_path: Path) -> None:
    store, run_id, _db = paused_run(tmp_path)
    client = TestClient(create_app(store))
    assert run_id in client.get("/").text
    page = client.get(f"/runs/{run_id}").text
    assert "v1 waits for review" in page and "Answer with the bare label only." in page
    assert client.get(f"/api/runs/{run_id}/pending").json()[0]["version"] == 1
    assert "+ for-" in client.get(f"/runs/{run_id}/diff/1").text
    bad = client.post(f"/runs/{run_id}/versions/1/decision", data={"decision": "maybe"})
    assert bad.status_code == 400
    done = client.post(f"/runs/{run_id}/versions/1/decision", data={"decision": "reject"})
    assert done.status_code == 200 and "v1 waits for review" not in done.text  # followed the redirect
    assert store.get_version(run_id, 1).status == "rejected"  # type: ignore[union-attr]
    assert store.review_decisions(run_id)[0].reviewer == "web"


def test_off_loopback_a_decision_needs_the_token(tmp_path: Path) -> None:
    store, run_id, _db = paused_run(tmp_path)
    client = TestClient(create_app(store, token="s3cret"))
    assert "name='token'" in client.get(f"/runs/{run_id}").text  # the form asks for it
    refused = client.post(f"/runs/{run_id}/versions/1/decision", data={"decision": "accept", "token": "guess"})
    assert refused.status_code == 403 and store.get_version(run_id, 1).status == "pending"  # type: ignore[union-attr]
    ok = client.post(f"/runs/{run_id}/versions/1/decision", data={"decision": "accept"},
                     headers={"X-Promptlearn-Token": "s3cret"})
    assert ok.status_code == 200 and store.get_version(run_id, 1).status == "accepted"  # type: ignore[union-attr]


def test_loopback_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")


def test_an_edit_from_the_page_is_stored_for_the_resumed_run(tmp_path: Path) -> None:
    store, run_id, _db = paused_run(tmp_path)
    client = TestClient(create_app(store))
    [item] = client.get(f"/api/runs/{run_id}/pending").json()
    [bullet] = item["bullets"]
    assert f"value='{bullet['id']}'" in client.get(f"/runs/{run_id}").text  # the page's edit form for it
    missing = client.post(f"/runs/{run_id}/versions/1/decision", data={"decision": "edit", "bullet_id": "x-1"})
    assert missing.status_code == 400 and "v1 has no bullet &#x27;x-1&#x27;" in missing.text
    assert store.get_version(run_id, 1).status == "pending"  # type: ignore[union-attr]
    client.post(f"/runs/{run_id}/versions/1/decision",
                data={"decision": "edit", "bullet_id": bullet["id"], "text": "Answer with the bare label only!"})
    [decision] = store.review_decisions(run_id)
    assert (decision.decision, decision.bullet_id, decision.text) == ("edit", bullet["id"],
                                                                        "Answer with the bare label only!")
    assert store.get_version(run_id, 1).status == "edited"  # type: ignore[union-attr]
