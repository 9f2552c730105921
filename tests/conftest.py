"""Test guards: no hosted model calls, and each test gets its own user data directory and database."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.pg"]  # db_url: each store test on SQLite and on a throwaway PostgreSQL server

REPO = Path(__file__).resolve().parents[1]
SHARED_BBH = REPO.parent / "shared" / "data" / "bbh"
REAL_MODELS = Path.home() / ".local" / "share" / "promptlearn" / "models"


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTLEARN_DB", str(tmp_path / "promptlearn.db"))
    monkeypatch.setenv("PROMPTLEARN_MODELS_DIR", str(REAL_MODELS))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(autouse=True)
def _forbid_hosted_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Like pydantic-ai's ALLOW_MODEL_REQUESTS=False: a hosted call in a test is a bug in the test. A server on
    this machine's loopback (llama.cpp's OpenAI-compatible server in tests/integration) is allowed."""
    from urllib.parse import urlsplit

    from promptlearn.lm import litellm_lm

    real_complete = litellm_lm.LiteLLMLM.complete

    def refuse(self, request):  # type: ignore[no-untyped-def]
        if self.api_base and urlsplit(self.api_base).hostname in ("127.0.0.1", "localhost", "::1"):
            return real_complete(self, request)
        raise AssertionError(f"test tried to call hosted model {request.model}; use FakeLM or a local/ model")

    monkeypatch.setattr(litellm_lm.LiteLLMLM, "complete", refuse)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The Phoenix round trip runs last, its server's virtualenv built in the background from the start (minutes
    of pip on a fresh machine), so the build overlaps every other test instead of adding to them."""
    phoenix = [item for item in items if item.path.name == "test_phoenix.py"]
    if not phoenix:
        return
    items[:] = [item for item in items if item.path.name != "test_phoenix.py"] + phoenix
    from tests.integration import phoenix_venv

    phoenix_venv.start_in_background()


def have_model(name: str) -> bool:
    from promptlearn.lm import models

    return (REAL_MODELS / models.spec(name).filename).exists()


needs_smollm = pytest.mark.skipif(not have_model("smollm2-135m"), reason="run: promptlearn models pull smollm2-135m")
