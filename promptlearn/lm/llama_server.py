"""Start llama.cpp's OpenAI-compatible server (`python -m llama_cpp.server`) on loopback for an embedded model.

For tests and benchmarks of the OpenAI-compatible path: the task model becomes `openai/<alias>` with
`api_base` set to the server, exactly as with vLLM or any other compatible endpoint. Needs the `server` extra.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from promptlearn.errors import ModelError
from promptlearn.lm import models
from promptlearn.localhost import free_port, stop


def server_command(model_path: Path, port: int, alias: str, n_ctx: int, threads: int) -> list[str]:
    # interrupt_requests off: by default a new request cancels a streaming one, which concurrent clients would
    # trip over. The server answers one request at a time either way (llama-cpp-python serializes them).
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--model_alias", alias,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads),
            "--interrupt_requests", "False"]


def wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout_s: float, log: IO[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ModelError(f"llama.cpp server exited with {process.returncode} before it was ready: "
                             f"{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                if json.load(response).get("data"):
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.25)  # polling a child process's readiness; no timing depends on it
    raise ModelError(f"llama.cpp server at {base_url} not ready after {timeout_s:.0f}s: {_tail(log)}")


def _tail(log: IO[bytes], lines: int = 5) -> str:
    log.seek(0)
    return " | ".join(log.read().decode("utf-8", "replace").strip().splitlines()[-lines:]) or "(no output)"


@contextmanager
def llama_server(name: str, alias: str | None = None, n_ctx: int = 2048, threads: int = 2,
                 port: int | None = None, timeout_s: float = 120.0) -> Iterator[str]:
    """Serve the embedded model `name` (e.g. `smollm2-135m`); yields the base URL (`http://127.0.0.1:P/v1`)
    and stops the server on exit. The model answers as `openai/<alias>` (alias defaults to `name`)."""
    path = models.verified_path(name)
    port = port or free_port()
    command = server_command(path, port, alias or name, n_ctx, threads)
    base_url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryFile() as log:  # the server's output, quoted if it fails to start
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(base_url, process, timeout_s, log)
            yield base_url
        finally:
            stop(process, grace_s=15)
