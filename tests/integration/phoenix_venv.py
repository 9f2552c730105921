"""The Phoenix server's own virtualenv, for tests/integration/test_phoenix.py and `make phoenix-venv`.

arize-phoenix pins openai 3.x (we lock 2.x) among others, so it cannot share our lock: it lives in
~/.cache/promptlearn/phoenix-venv (PROMPTLEARN_PHOENIX_VENV moves it), installed from PyPI with pip and nothing
else, every package at the version in phoenix-requirements.txt (`--no-deps`: no resolution, the list is complete).
The traced app (phoenix_app.py: `openinference-instrumentation-openai` and the OpenAI SDK) runs there too. It is
built aside and moved into place, so an interrupted install is never taken for a finished one; a changed
requirements file rebuilds it.

    python -m tests.integration.phoenix_venv     # build it if missing; prints its python
"""

from __future__ import annotations

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
    """The virtualenv's python, built first when it is missing or its requirements changed."""
    if ready():
        return venv_python()
    root = home()
    root.parent.mkdir(parents=True, exist_ok=True)
    building = root.parent / f"{root.name}.building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    try:
        _run([sys.executable, "-m", "venv", str(building)], "create the virtualenv", timeout_s)
        _run(["nice", "-n", "19", str(building / "bin" / "python"), "-m", "pip", "install", "--quiet",
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
