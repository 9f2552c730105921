"""Secrets: an API key in the environment never reaches a file promptlearn writes (database, WAL, exports),
not even when a provider's error message echoes it; and database URLs are shown without their password."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.engine import make_url

from promptlearn import optimize
from promptlearn.export import FORMATS, export_playbook
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.lm.base import Completion
from promptlearn.safety import REDACTED
from promptlearn.store import Store
from tests.fakes_task import write_dataset
from tests.reliability.worker import run_config, steady_world

pytestmark = pytest.mark.reliability

KEY = "sk-test-DEADBEEF0123456789abcdefCAFEF00D"


def leaks(folder: Path, secret: str) -> list[str]:
    """Every file under `folder` whose bytes contain the secret (plain, or as UTF-16 / in a URL)."""
    needles = [secret.encode(), secret.encode("utf-16-le"), secret.replace("-", "%2D").encode()]
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if any(n in data for n in needles):
            found.append(path.name)
    return found


def export_all(store: Store, run_id: str, folder: Path) -> list[Path]:
    paths = []
    for fmt in FORMATS:
        path = folder / f"export.{fmt}"
        path.write_text(export_playbook(store, run_id, fmt), encoding="utf-8")
        paths.append(path)
    return paths


def open_wal(db: Path) -> Store:
    """A second connection keeps the WAL file on disk, so the scan sees what it holds."""
    store = Store(str(db))
    store.count_rollouts("none")
    return store


def test_a_run_and_its_exports_never_contain_the_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # after conftest's autouse fixture removed any real one
    data = write_dataset(tmp_path / "tickets.jsonl")
    store = Store(str(tmp_path / "db.sqlite"))
    keep_wal = open_wal(tmp_path / "db.sqlite")
    result = optimize(run_config(data), store=store, lm=steady_world())
    exports = export_all(store, result.run_id, tmp_path)
    assert all(p.stat().st_size for p in exports)
    assert (tmp_path / "db.sqlite-wal").exists()
    assert leaks(tmp_path, KEY) == []
    keep_wal.engine.dispose()


def echoing_provider() -> FakeLM:
    """A provider whose errors quote the key, as some SDKs do (a key in a URL, or an auth error echoing it)."""
    healthy = steady_world()

    def respond(request: LMRequest) -> str:
        return healthy.complete(request).text

    class Echoing(FakeLM):
        def complete(self, request: LMRequest) -> Completion:
            text = request.messages[-1][1]
            if "ticket 3 " in text or "ticket 7 " in text:  # some task calls and the judge calls about them
                return Completion(text="", error=f"BadRequestError: POST https://api.example/v1?key={KEY} "
                                                 f"failed; Incorrect API key provided: {KEY}")
            return super().complete(request)

    return Echoing(respond)


class Refused(Exception):
    pass


def test_provider_errors_that_quote_the_key_are_redacted_before_storage(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    data = write_dataset(tmp_path / "tickets.jsonl")
    store = Store(str(tmp_path / "db.sqlite"))
    keep_wal = open_wal(tmp_path / "db.sqlite")
    result = optimize(run_config(data), store=store, lm=echoing_provider())
    errors = [r.error for r in store.rollouts(result.run_id) if r.error]
    assert errors and all(f"key={REDACTED}" in e for e in errors)  # the error is kept, the key is not
    export_all(store, result.run_id, tmp_path)

    def refuse(request: LMRequest) -> str:
        raise Refused(f"provider rejected the request (Authorization: Bearer {KEY})")

    with pytest.raises(Refused):
        optimize(run_config(data), store=store, lm=FakeLM(refuse))
    stopped = store.list_runs()[0]
    assert stopped.status == "stopped" and "Refused" in stopped.summary_json
    assert leaks(tmp_path, KEY) == []
    keep_wal.engine.dispose()


def test_safe_url_hides_the_database_password() -> None:
    url = make_url("postgresql://alice:s3cr3t-Pa55@db.internal:5432/promptlearn")  # never connected
    shown = Store.safe_url.fget(SimpleNamespace(engine=SimpleNamespace(url=url)))  # type: ignore[attr-defined]
    assert "s3cr3t-Pa55" not in shown and "alice" in shown and "db.internal" in shown
