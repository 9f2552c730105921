"""The Phoenix server's own virtualenv, for tests/integration/test_phoenix.py and `make phoenix-venv`.

arize-phoenix pins openai 3.x (we lock 2.x) among others, so it cannot share our lock: it lives in
~/.cache/promptlearn/phoenix-venv (PROMPTLEARN_PHOENIX_VENV moves it), installed from PyPI with pip and nothing
else, every package at the version in phoenix-requirements.txt (`--no-deps`: no resolution, the list is complete).
The traced app (phoenix_app.py: `openinference-instrumentation-openai` and the OpenAI SDK) runs there too. It is
built aside and moved into place, so an interrupted install is never taken for a finished one; a changed
requirements file rebuilds it. One build at a time (a lock beside it): `make test` starts one in the background
when it collects the Phoenix test (tests/conftest.py), so the minutes of pip overlap the other tests, and the test
itself waits for that build rather than starting its own.

    python -m tests.integration.phoenix_venv     # build it if missing; prints its python
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).with_name("phoenix-requirements.txt")


class BuildFailed(RuntimeError):
    """The virtualenv could not be made (no network to PyPI, no wheel for this platform, ...)."""


def home() -> Path:
    return Path(os.environ.get("PROMPTLEARN_PHOENIX_VENV") or Path.home() / ".cache" / "promptlearn" / "phoenix-venv")


def venv_python() -> Path:
    return home() / "bin" / "python"


def _stamp() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ready() -> bool:
    marker = home() / ".promptlearn-requirements"
    return venv_python().exists() and marker.exists() and marker.read_text().strip() == _stamp()


def ensure(timeout_s: float = 1800) -> Path:
    """The virtualenv's python, built first when it is missing or its requirements changed; waits for a build
    another process is running."""
    if ready():
        return venv_python()
    root = home()
    root.parent.mkdir(parents=True, exist_ok=True)
    with (root.parent / f"{root.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when a killed holder exits
        return venv_python() if ready() else _build(root, timeout_s)


def start_in_background() -> subprocess.Popen[bytes] | None:
    """A build in another process, when one is needed: `ensure()` later waits for it. Its output is dropped; a
    failed build is tried again, and reported, by the `ensure()` that finds the virtualenv still missing."""
    if ready():
        return None
    return subprocess.Popen([sys.executable, "-m", "tests.integration.phoenix_venv"], cwd=Path(__file__).parents[2],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _build(root: Path, timeout_s: float) -> Path:
    building = root.parent / f"{root.name}.building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    try:
        _run([sys.executable, "-m", "venv", str(building)], "create the virtualenv", timeout_s)
        # Nice, but not 19: beside the CPU-bound tests it overlaps, nice 19 got 2% of a core.
        _run(["nice", "-n", "10", str(building / "bin" / "python"), "-m", "pip", "install", "--quiet",
              "--disable-pip-version-check", "--no-deps", "-r", str(REQUIREMENTS)], "install arize-phoenix", timeout_s)
        (building / ".promptlearn-requirements").write_text(_stamp() + "\n")
        if root.exists() and not ready():
            shutil.rmtree(root)  # a stale build (older requirements)
        try:
            building.rename(root)
        except OSError:
            if not ready():  # not another process's finished build: a real failure
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return venv_python()


def _run(cmd: list[str], what: str, timeout_s: float) -> None:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise BuildFailed(f"{what}: no answer in {timeout_s:.0f}s") from None
    if result.returncode != 0:
        lines = [line for line in (result.stderr + result.stdout).splitlines() if not line.startswith("WARNING")]
        raise BuildFailed(f"{what} failed ({result.returncode}): {' | '.join(lines[-4:])}")


if __name__ == "__main__":
    print(ensure())
