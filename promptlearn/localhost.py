"""Servers promptlearn starts for itself on loopback (llama.cpp's OpenAI-compatible server, a throwaway
PostgreSQL) need a port nobody else holds."""

from __future__ import annotations

import socket
import subprocess


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen, grace_s: float) -> None:  # type: ignore[type-arg]
    """Ask a server we started to stop; kill it if it has not within `grace_s` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
