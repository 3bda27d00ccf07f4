"""A real ``fewshot serve`` in a subprocess for the HTTP benchmarks (bench_api, bench_ingest_serving)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Mapping

__all__ = ["free_port", "start_server"]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, env: Mapping[str, str], *, timeout: float = 60) -> subprocess.Popen[bytes]:
    """Start ``python -m fewshot.cli serve --port PORT`` with ``env`` and return once ``/v1/ready``
    answers 200 (exits the benchmark when it does not within ``timeout`` seconds). The caller
    terminates the process."""
    import httpx

    server = subprocess.Popen(
        [sys.executable, "-m", "fewshot.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=dict(env),
        stdout=subprocess.DEVNULL,
    )
    deadline = time.time() + timeout
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/ready").status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.time() > deadline or server.poll() is not None:
            server.terminate()
            raise SystemExit("server did not start")
        time.sleep(0.2)
