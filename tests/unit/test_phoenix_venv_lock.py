"""The Phoenix virtualenv is built once however many processes ask for it: `make test` starts a build in the
background and the Phoenix test's own `ensure()` waits for it instead of building a second one beside it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.integration import phoenix_venv


def test_a_second_caller_waits_for_the_build_in_progress_and_does_not_build_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTLEARN_PHOENIX_VENV", str(tmp_path / "venv"))
    builds: list[float] = []
    started = threading.Event()

    def fake_build(root: Path, timeout_s: float) -> Path:
        builds.append(time.monotonic())
        started.set()
        time.sleep(0.3)  # the build in progress the second caller must wait for
        (root / "bin").mkdir(parents=True)
        phoenix_venv.venv_python().write_text("")
        (root / ".promptlearn-requirements").write_text(phoenix_venv._stamp() + "\n")
        return phoenix_venv.venv_python()

    monkeypatch.setattr(phoenix_venv, "_build", fake_build)
    results: list[Path] = []
    first = threading.Thread(target=lambda: results.append(phoenix_venv.ensure()))
    first.start()
    assert started.wait(5)
    results.append(phoenix_venv.ensure())  # starts while the first build holds the lock
    first.join(5)
    assert len(builds) == 1 and results == [phoenix_venv.venv_python()] * 2
    assert phoenix_venv.start_in_background() is None  # ready: nothing to start


def test_the_phoenix_test_is_ordered_last(pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import pytest_collection_modifyitems

    class Item:
        def __init__(self, name: str) -> None:
            self.path = Path("tests") / name

    items = [Item("test_phoenix.py"), Item("test_a.py"), Item("test_b.py")]
    monkeypatch.setattr(phoenix_venv, "ready", lambda: True)  # nothing to build here
    pytest_collection_modifyitems(pytestconfig, items)  # type: ignore[arg-type]
    assert [i.path.name for i in items] == ["test_a.py", "test_b.py", "test_phoenix.py"]
